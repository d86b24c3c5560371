//! Server-side helpers for server functions: the shared context, who is
//! calling, and how errors become responses.

use crate::api::AppError;
use axum::http::{header, request::Parts, StatusCode};
use domain::store::{DynStore, StoreError};
use domain::throttle::Throttle;
use domain::{CustomerId, OrgId, Principal, UserId, VendorRole};
use leptos::prelude::*;
use std::sync::Arc;
use tower_sessions::Session;

/// The session key holding the signed-in user ([`SessionUser`]). (Sessions
/// of earlier releases held a bare id under `uid`; they count as signed out.)
pub const SESSION_USER_KEY: &str = "user";

/// Whom a session signs in: the user's id (never handed out again) and the
/// user's session epoch when the session began. A role change or a new
/// password moves the epoch on, which ends the session; every lookup checks
/// both ([`session_principal`]).
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

/// The signed-in principal of a session: `None` when signed out, or when
/// its user is gone or its epoch has moved on. Every session lookup (page
/// guard, server functions, `/api/v1` with a cookie, `/events`) uses this.
pub async fn session_principal(
    store: &dyn domain::store::Store,
    session: &Session,
) -> Result<Option<Principal>, StoreError> {
    let Some(user) = session_user(session).await else {
        return Ok(None);
    };
    store.session_principal(user.id, user.epoch).await
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

/// What server functions need from the server; provided as Leptos context.
#[derive(Clone)]
pub struct ServerCtx {
    pub store: DynStore,
    /// Failed sign-ins per email.
    pub email_throttle: Arc<Throttle>,
    /// Failed sign-ins per client address.
    pub addr_throttle: Arc<Throttle>,
    /// The public base URL, e.g. `https://registry.example.com`.
    pub public_url: String,
    /// Access tokens checked from memory; evict on revoke and user changes.
    pub tokens: Arc<domain::token_cache::TokenCache>,
    /// Tokens and set-password links created by a plain form post (no
    /// JavaScript), kept briefly so the page the browser is sent back to can
    /// show the secret.
    pub fresh_tokens: Arc<FreshTokens>,
    /// What each customer may see, compiled in memory (evicted through the
    /// store's change hub).
    pub access: Arc<domain::access::AccessCache>,
    /// Sessions that just signed out, for the `/events` streams.
    pub session_ends: Arc<SessionEnds>,
    /// The one-time code the first-run form asks for, when the server
    /// listens on a non-loopback address and no organization existed at
    /// start (printed in the log); `None` on loopback.
    pub setup_code: Option<Arc<str>>,
}

/// A new one-time set-up code: 24 hex digits (96 random bits).
pub fn new_setup_code() -> String {
    let (token, _) = domain::token_cache::new_token();
    domain::token_cache::hash_token(&token)[..24].to_owned()
}

/// Whether `input` is the set-up code `expected` (compared as hashes, so
/// the time taken says nothing about how much of a guess was right).
pub fn check_setup_code(expected: &str, input: &str) -> Result<(), domain::ParseError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(domain::ParseError(
            "Enter the set-up code from the server's log.".into(),
        ));
    }
    let hash = domain::token_cache::hash_token;
    if hash(&input.to_ascii_lowercase()) == hash(expected) {
        Ok(())
    } else {
        Err(domain::ParseError(
            "That is not the set-up code. Copy it from the server's log.".into(),
        ))
    }
}

/// Just-created secrets (access tokens, set-password links), by a random
/// one-time key that goes in the redirect URL (the secret itself never
/// does). Readable once, only by the user who created them, for a few
/// minutes: the first view takes it, so a reload, the browser history or
/// anyone else who sees the URL later finds nothing.
#[derive(Default)]
pub struct FreshTokens {
    entries: std::sync::Mutex<std::collections::HashMap<String, FreshEntry>>,
}

/// Who created it, when, and the serialized token.
type FreshEntry = (UserId, std::time::Instant, Vec<u8>);

impl FreshTokens {
    const TTL: std::time::Duration = std::time::Duration::from_secs(300);

    /// Keeps `value` for `user`; returns the key for the URL.
    pub fn put(&self, user: UserId, value: Vec<u8>) -> String {
        let (key, _) = domain::token_cache::new_token();
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, at, _)| at.elapsed() < Self::TTL);
        map.insert(key.clone(), (user, std::time::Instant::now(), value));
        key
    }

    /// Takes the value behind `key` if `user` put it there: a second call
    /// finds nothing. Another user's call leaves it in place.
    pub fn take(&self, user: UserId, key: &str) -> Option<Vec<u8>> {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some((owner, at, _)) if *owner == user && at.elapsed() < Self::TTL => {
                map.remove(key).map(|(_, _, v)| v)
            }
            _ => None,
        }
    }
}

impl ServerCtx {
    /// The full address of a one-time set-password link.
    pub fn set_password_url(&self, secret: &str) -> String {
        format!(
            "{}{}",
            self.public_url.trim_end_matches('/'),
            domain::password_links::path(secret)
        )
    }

    /// The registry host shown in commands (`registry.example.com:5000`).
    pub fn registry_host(&self) -> String {
        let url = self.public_url.trim_end_matches('/');
        url.split_once("://")
            .map_or(url, |(_, rest)| rest)
            .to_owned()
    }
}

/// An artifact with the tags its viewer may pull, newest first.
pub type VisibleArtifact = (
    domain::registry::ArtifactSummary,
    Vec<domain::registry::TagInfo>,
);

impl ServerCtx {
    /// What `principal` may see now (SPEC §3): everything of its org for a
    /// vendor user; a customer's compiled entitlements, from memory.
    pub async fn visibility(
        &self,
        principal: &Principal,
    ) -> Result<Arc<domain::access::CustomerAccess>, StoreError> {
        let (org_id, customer) = match principal {
            Principal::Customer {
                org_id,
                customer_id,
                ..
            } => (*org_id, *customer_id),
            Principal::Vendor { org_id, .. } => {
                return Ok(Arc::new(domain::access::CustomerAccess::everything(
                    *org_id,
                )))
            }
        };
        self.access
            .customer(&*self.store, org_id, customer, chrono::Utc::now())
            .await
    }

    /// The artifacts `principal` may see, each with only the tags it may
    /// pull, newest first: the portal's list and `GET /api/v1/artifacts`.
    pub async fn visible_artifacts(
        &self,
        principal: &Principal,
    ) -> Result<Vec<VisibleArtifact>, StoreError> {
        let access = self.visibility(principal).await?;
        let names: Vec<String> = match &access.visibility {
            domain::policy::Visibility::Everything => self
                .store
                .artifacts(principal.org_id())
                .await?
                .into_iter()
                .map(|a| a.name)
                .collect(),
            // Only the granted artifacts are read (a customer sees a few of
            // the org's many).
            domain::policy::Visibility::Granted(grants) => {
                let mut names: Vec<String> = grants.keys().cloned().collect();
                names.sort();
                names
            }
        };
        let mut out = Vec::new();
        for name in names {
            if let Some(v) = self.visible_artifact(&access, &name).await? {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// One artifact as `access` sees it; `None` when it does not exist or
    /// is not visible (the same answer).
    pub async fn visible_artifact(
        &self,
        access: &domain::access::CustomerAccess,
        name: &str,
    ) -> Result<Option<VisibleArtifact>, StoreError> {
        if !access.visibility.artifact_visible(name) {
            return Ok(None);
        }
        let Some((mut artifact, mut tags)) = self.store.artifact_tags(access.org_id, name).await?
        else {
            return Ok(None);
        };
        tags.retain(|t| access.visibility.tag_allowed(name, &t.tag));
        artifact.tag_count = tags.len() as i64;
        artifact.last_push = tags.first().map(|t| t.pushed_at);
        // Only from what this viewer may pull: a hidden tag's text stays hidden.
        artifact.description = tags.first().and_then(|t| t.description.clone());
        Ok(Some((artifact, tags)))
    }
}

pub fn ctx() -> Result<ServerCtx, AppError> {
    use_context::<ServerCtx>().ok_or_else(|| {
        tracing::error!("ServerCtx missing from context");
        AppError::Internal
    })
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "session layer missing");
        AppError::Internal
    })
}

/// The signed-in principal, if any. A session whose user has been removed
/// counts as signed out.
pub async fn principal() -> Result<Option<Principal>, AppError> {
    let session = session().await?;
    Ok(session_principal(&*ctx()?.store, &session).await?)
}

/// A vendor user acting in its own organization.
#[derive(Debug, Clone)]
pub struct VendorCaller {
    pub user_id: UserId,
    pub email: String,
    pub org_id: OrgId,
    pub org_slug: String,
    pub role: VendorRole,
}

impl VendorCaller {
    /// The caller, as the audit trail records it.
    pub fn actor(&self) -> domain::audit::Actor {
        domain::audit::Actor::user(self.user_id, self.email.clone())
    }
}

/// What a server function requires of a vendor caller.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Any vendor role (reading).
    Read,
    /// `admin` or `read_write`.
    Write,
    /// `admin`.
    Admin,
}

/// Refuses unless a vendor user with at least `need` is signed in.
pub async fn require_vendor(need: Need) -> Result<VendorCaller, AppError> {
    match principal().await? {
        None => Err(AppError::Unauthenticated),
        Some(Principal::Customer { .. }) => Err(AppError::Forbidden),
        Some(Principal::Vendor {
            user_id,
            email,
            org_id,
            org_slug,
            role,
            ..
        }) => {
            let allowed = match need {
                Need::Read => true,
                Need::Write => role.can_write(),
                Need::Admin => role.is_admin(),
            };
            if allowed {
                Ok(VendorCaller {
                    user_id,
                    email,
                    org_id,
                    org_slug,
                    role,
                })
            } else {
                Err(AppError::Forbidden)
            }
        }
    }
}

/// A customer user.
#[derive(Debug, Clone)]
pub struct CustomerCaller {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub customer_id: CustomerId,
    pub email: String,
    /// The vendor org's slug: the registry namespace.
    pub org_slug: String,
    /// The vendor org's name: whom to ask for access.
    pub org_name: String,
    /// The same caller, for [`ServerCtx::visibility`] and friends.
    pub principal: Principal,
}

/// Refuses unless a customer user is signed in.
pub async fn require_customer() -> Result<CustomerCaller, AppError> {
    let principal = principal().await?.ok_or(AppError::Unauthenticated)?;
    match &principal {
        Principal::Vendor { .. } => Err(AppError::Forbidden),
        Principal::Customer {
            user_id,
            org_id,
            customer_id,
            email,
            org_slug,
            org_name,
            ..
        } => Ok(CustomerCaller {
            user_id: *user_id,
            org_id: *org_id,
            customer_id: *customer_id,
            email: email.clone(),
            org_slug: org_slug.clone(),
            org_name: org_name.clone(),
            principal: principal.clone(),
        }),
    }
}

/// Whether this request is a plain HTML form post (no JavaScript): such a
/// request is answered with a redirect, whatever the outcome.
pub fn is_plain_form_post() -> bool {
    use_context::<Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// Signs `user_id` in: a new session id (no fixation) holding the user and
/// its current session epoch.
pub async fn start_session(user_id: UserId) -> Result<(), AppError> {
    let epoch = ctx()?
        .store
        .session_epoch(user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    start_session_at(user_id, epoch).await
}

/// Starts a session of `user_id` at `epoch`, the epoch read with the
/// credentials that were checked (sign-in): if the password or role changed
/// meanwhile, the session store refuses to write it, so it signs nobody in.
pub async fn start_session_at(user_id: UserId, epoch: i64) -> Result<(), AppError> {
    let session = session().await?;
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(SESSION_USER_KEY, SessionUser { id: user_id, epoch })
        .await
        .map_err(internal)
}

/// Where a plain form post goes back to after an error: the form's page with
/// what was typed in its query (so the page shows it again) and the error in
/// the query parameters Leptos reads into the form's `ServerAction`.
pub fn form_error_url(
    form_path: &str,
    draft: &impl serde::Serialize,
    server_fn_path: &str,
    error: AppError,
) -> String {
    let query = serde_qs::to_string(draft).unwrap_or_default();
    let base = format!("http://form{form_path}?{query}");
    match leptos::server_fn::error::ServerFnUrlError::new(server_fn_path, error).to_url(&base) {
        Ok(url) => format!("{}?{}", url.path(), url.query().unwrap_or_default()),
        Err(_) => form_path.to_owned(),
    }
}

/// Finishes a server function: an error gets its proper HTTP status
/// (400/401/403/404/409/429/503 rather than 500; 503 with `Retry-After`) unless the request is a plain
/// form post, which must stay a redirect back to the form.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if !is_plain_form_post() {
            if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
                opts.set_status(
                    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                );
                if *e == AppError::Busy {
                    opts.insert_header(
                        header::RETRY_AFTER,
                        header::HeaderValue::from(domain::password::RETRY_AFTER_SECS),
                    );
                }
            }
        }
    }
    result
}

pub fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "internal error");
    AppError::Internal
}

impl From<domain::password::Busy> for AppError {
    fn from(_: domain::password::Busy) -> Self {
        AppError::Busy
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        use domain::messages::Told;
        match domain::messages::store_error(&e) {
            Told::NotFound => AppError::NotFound,
            Told::Conflict { field, message } => AppError::Conflict {
                message,
                field: Some(field.to_owned()),
            },
            Told::Rejected(m) => AppError::Invalid {
                message: m,
                fields: Default::default(),
            },
            Told::Invalid(fields) => AppError::Invalid {
                message: "Please correct the highlighted fields.".into(),
                fields,
            },
            Told::Internal => internal(e),
            Told::Busy => AppError::Busy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_secret_is_shown_once_and_only_to_its_creator() {
        let fresh = FreshTokens::default();
        let (alice, bob) = (UserId::from(1), UserId::from(2));
        let key = fresh.put(alice, b"secret".to_vec());
        assert_eq!(fresh.take(bob, &key), None);
        assert_eq!(fresh.take(alice, "other key"), None);
        assert_eq!(fresh.take(alice, &key).as_deref(), Some(&b"secret"[..]));
        assert_eq!(fresh.take(alice, &key), None);
    }
}
