//! The session format and the one way a session becomes a principal. The
//! page guard, server functions, `/api/v1` with a cookie and `/events` all
//! resolve a session here.

use crate::Services;
use domain::store::StoreError;
use domain::{Principal, UserId};
use tower_sessions::Session;

/// The session key holding the signed-in user ([`SessionUser`]). (Sessions
/// of earlier releases held a bare id under `uid`; they count as signed out.)
pub const SESSION_USER_KEY: &str = "user";

/// Whom a session signs in: the user's id (never handed out again) and the
/// user's session epoch when the session began. A role change or a new
/// password moves the epoch on, which ends the session; every lookup checks
/// both ([`Services::session_principal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionUser {
    pub id: UserId,
    pub epoch: i64,
}

/// The user a session holds, unchecked; `None` when signed out or unreadable.
pub async fn session_user(session: &Session) -> Option<SessionUser> {
    match session.get::<SessionUser>(SESSION_USER_KEY).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable session");
            None
        }
    }
}

/// Starts a session of `user` (a new session id: no fixation). The session
/// store refuses to write it if the user's epoch has moved on meanwhile,
/// so a password or role change during sign-in signs nobody in.
pub async fn start(
    session: &Session,
    user: SessionUser,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(SESSION_USER_KEY, user).await
}

/// The caller of one request, resolved at most once: the server puts an
/// empty slot in each request's extensions, and the page guard, the page's
/// server functions and the API's cookie check all fill or read the same
/// one (a page render calls several server functions: one lookup).
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(std::sync::Arc<tokio::sync::OnceCell<Option<Principal>>>);

impl Services {
    /// The signed-in principal of this request's session, through its
    /// [`CallerSlot`] (looked up once; `slot` None: looked up now).
    pub async fn caller(
        &self,
        slot: Option<&CallerSlot>,
        session: &Session,
    ) -> Result<Option<Principal>, StoreError> {
        match slot {
            Some(slot) => slot
                .0
                .get_or_try_init(|| self.session_principal(session))
                .await
                .cloned(),
            None => self.session_principal(session).await,
        }
    }

    /// The signed-in principal of a session: `None` when signed out, or
    /// when its user is gone or its epoch has moved on.
    pub async fn session_principal(
        &self,
        session: &Session,
    ) -> Result<Option<Principal>, StoreError> {
        let Some(user) = session_user(session).await else {
            return Ok(None);
        };
        self.store.session_principal(user.id, user.epoch).await
    }

    /// Signs `user_id` in on `session` at its current epoch (a user who
    /// changed its own role stays signed in).
    pub async fn restart_session(
        &self,
        session: &Session,
        user_id: UserId,
    ) -> crate::ServiceResult<()> {
        let epoch = self
            .store
            .session_epoch(user_id)
            .await?
            .ok_or(crate::ServiceError::Unauthenticated)?;
        start(session, SessionUser { id: user_id, epoch })
            .await
            .map_err(|e| StoreError::internal(e).into())
    }

    /// Signs `session` out and ends its open `/events` streams.
    pub async fn sign_out(&self, session: &Session) -> crate::ServiceResult<()> {
        let id = session.id();
        session.flush().await.map_err(StoreError::internal)?;
        if let Some(id) = id {
            self.session_ends.ended(id.to_string());
        }
        Ok(())
    }
}

/// Tells open `/events` streams that a session ended (signed out), by
/// session id, so they stop at once. A stream that misses a message (too
/// many at once) ends too; the browser's reconnection is checked afresh.
pub struct SessionEnds {
    tx: tokio::sync::broadcast::Sender<String>,
}

impl Default for SessionEnds {
    fn default() -> Self {
        Self {
            tx: tokio::sync::broadcast::channel(256).0,
        }
    }
}

impl SessionEnds {
    pub fn ended(&self, session_id: String) {
        let _ = self.tx.send(session_id);
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.tx.subscribe()
    }
}
