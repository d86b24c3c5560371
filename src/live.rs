//! Live updates (SPEC §3 "Real time"): `GET /events`, a server-sent event
//! stream for the signed-in user of the session cookie (401 without one).
//!
//! Each stream subscribes to the store's change hub and tells its page when
//! to refetch (the browser side is `app::live`):
//! - a customer user gets `access` only when what it may see changed: on a
//!   change in its org the stream recompiles its visibility and compares it
//!   with the last one it knows; also when an entitlement expires (a timer
//!   at the compiled view's `valid_until`), after a `Lagged` broadcast, and
//!   when a tag its grants cover is pushed (a rule or all tags);
//! - a vendor user gets `entitlements` (with the customer's id, so a page
//!   about another customer ignores it), `customer_removed` and `plan` for
//!   its org;
//! - anyone whose user (or customer) is removed, or whose role or password
//!   changed (the session's epoch moved on), gets `signed_out`, and the
//!   stream ends; so does a stream whose session signs out
//!   (`Services::session_ends`).
//!
//! Events carry only a kind and a customer id; pages refetch through their
//! usual server functions. A first connection passes `?after=` (the
//! change-feed position the page was rendered at) and is told about its
//! org's changes after it, which the page may not show. Streams end when the server shuts down, so graceful
//! shutdown does not wait for them.

use crate::server::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::changes::{Change, ChangeKind};
use domain::live::{LiveEvent, LiveKind};
use domain::policy::Visibility;
use domain::Principal;
use futures::StreamExt;
use services::session::{CallerSlot, SessionUser};
use services::Services;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::{error::RecvError, Receiver};
use tokio_util::sync::CancellationToken;
use tower_sessions::Session;

/// How long the browser waits before reconnecting after a dropped
/// connection (the `retry` field; browsers default to a few seconds).
const RETRY: Duration = Duration::from_secs(1);
/// A comment this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// More changes than this to catch up on: just refetch.
const CATCH_UP_LIMIT: i64 = 500;

#[derive(Debug, serde::Deserialize)]
pub struct EventsQuery {
    /// The change-feed position the page's data was read at.
    after: Option<i64>,
}

/// `GET /events`: any signed-in user (session cookie), for itself.
pub async fn events(
    State(state): State<AppState>,
    session: Session,
    slot: Option<axum::Extension<CallerSlot>>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Response {
    // Before the session is checked: a sign-out from then on is seen.
    let ends = state.ctx.session_ends.subscribe();
    let principal = match crate::guard::session_principal(&state, slot.as_deref(), &session).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let (Some(principal), Some(user), Some(session_id)) = (
        principal,
        services::session::session_user(&session).await,
        session.id(),
    ) else {
        return (StatusCode::UNAUTHORIZED, "Sign in to receive live updates.").into_response();
    };
    // Subscribe before anything is read: nothing committed later is missed.
    let rx = state.ctx.store.change_hub().subscribe();
    let mut live = Live {
        ctx: state.ctx.clone(),
        principal,
        user,
        session_id: session_id.to_string(),
        ends,
        rx,
        shutdown: state.shutdown.clone(),
        known: None,
        valid_until: None,
        caught_up_to: 0,
        queue: VecDeque::new(),
        done: false,
    };
    live.baseline().await;
    // A reconnection carries `Last-Event-ID`; the page refetches everything
    // then. A first connection catches up from the page's render time.
    if !headers.contains_key("last-event-id") {
        if let Some(after) = query.after.filter(|a| *a >= 0) {
            live.catch_up(after).await;
        }
    }
    // The id makes a reconnection recognizable; the retry shortens it.
    let hello = Event::default().id("live").retry(RETRY);
    let stream = futures::stream::once(async move { Ok::<_, Infallible>(hello) }).chain(
        futures::stream::unfold(live, |mut live| async move {
            let event = live.next().await?;
            Some((Ok(event), live))
        }),
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// One open stream.
struct Live {
    ctx: Services,
    principal: Principal,
    /// The session's user and epoch, checked again on changes about it.
    user: SessionUser,
    session_id: String,
    /// Sessions signing out.
    ends: Receiver<String>,
    rx: Receiver<Change>,
    shutdown: CancellationToken,
    /// A customer: what it may see, as its page last learned it.
    known: Option<Visibility>,
    /// A customer: when an expiry (or a trial end) next changes that.
    valid_until: Option<DateTime<Utc>>,
    /// Changes up to this id were handled by the catch-up.
    caught_up_to: i64,
    queue: VecDeque<LiveEvent>,
    done: bool,
}

impl Live {
    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                let data = serde_json::to_string(&e).unwrap_or_default();
                return Some(Event::default().data(data));
            }
            if self.done {
                return None;
            }
            let expiry = self.valid_until.map(|t| {
                // Just past the instant, when the compiled view is stale.
                (t - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(5)
            });
            tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                ended = self.ends.recv() => match ended {
                    Ok(id) if id == self.session_id => {
                        self.push(LiveKind::SignedOut, None);
                        self.done = true;
                    }
                    Ok(_) => {}
                    // A sign-out may have been missed: end; the browser's
                    // reconnection is checked afresh.
                    Err(_) => return None,
                },
                _ = sleep_or_never(expiry) => self.recheck(false).await,
                received = self.rx.recv() => match received {
                    Ok(change) if change.id > self.caught_up_to => self.on_change(change, false).await,
                    Ok(_) => {}
                    // Changes were lost: say so rather than miss one.
                    Err(RecvError::Lagged(_)) => self.resync().await,
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }

    /// What a customer may see when the stream starts.
    async fn baseline(&mut self) {
        if matches!(self.principal, Principal::Customer { .. }) {
            match self.ctx.visibility(&self.principal).await {
                Ok(access) => {
                    self.known = Some(access.visibility.clone());
                    self.valid_until = access.valid_until;
                }
                Err(e) => tracing::warn!(error = %e, "live updates: loading access failed"),
            }
        }
    }

    /// Tells about the org's changes after position `after` (the page may
    /// predate them).
    async fn catch_up(&mut self, after: i64) {
        let org = self.principal.org_id();
        match self
            .ctx
            .store
            .org_changes_after(org, after, CATCH_UP_LIMIT)
            .await
        {
            Ok(changes) if (changes.len() as i64) < CATCH_UP_LIMIT => {
                for c in changes {
                    self.caught_up_to = self.caught_up_to.max(c.id);
                    self.on_change(c, true).await;
                }
            }
            Ok(_) => self.resync().await,
            Err(e) => {
                tracing::warn!(error = %e, "live updates: reading missed changes failed");
                self.resync().await;
            }
        }
    }

    /// `replay`: the page may not reflect `change` whatever the customer's
    /// visibility is now, so a customer is told without comparing.
    async fn on_change(&mut self, change: Change, replay: bool) {
        let org = self.principal.org_id();
        if change.org_id != org || self.done {
            return;
        }
        if self.concerns_me(&change) {
            if self.signed_out().await {
                self.push(LiveKind::SignedOut, None);
                self.done = true;
                return;
            }
            if self.principal.vendor_role().is_some() {
                // My own role changed: what the pages offer may differ.
                self.push(LiveKind::Resync, None);
            }
        }
        match &self.principal {
            Principal::Customer { customer_id, .. } => {
                if change.concerns_customer(org, *customer_id) {
                    self.recheck(replay).await;
                } else if let Some((artifact, tag)) = &change.tagged {
                    // A new tag: only the customers whose grants cover it
                    // (a rule or all tags, or everything under rule 1).
                    if self
                        .known
                        .as_ref()
                        .is_some_and(|v| v.grant(artifact).covers(tag))
                    {
                        self.push(LiveKind::Access, None);
                    }
                }
            }
            Principal::Vendor { .. } => match change.kind {
                ChangeKind::Entitlements => self.push(LiveKind::Entitlements, change.customer_id),
                ChangeKind::CustomerRemoved => {
                    self.push(LiveKind::CustomerRemoved, change.customer_id)
                }
                ChangeKind::Plan => self.push(LiveKind::Plan, None),
                // A mirrored artifact's sync (issue 14): its pages refetch.
                ChangeKind::Upstream => self.push(LiveKind::Upstreams, None),
                ChangeKind::UserChanged
                | ChangeKind::TokenRevoked
                | ChangeKind::Tagged
                | ChangeKind::Repository => {}
            },
        }
    }

    /// Whether `change` is about this stream's own user or customer.
    fn concerns_me(&self, change: &Change) -> bool {
        match change.kind {
            ChangeKind::UserChanged => change.user_id == Some(self.principal.user_id()),
            ChangeKind::CustomerRemoved => match &self.principal {
                Principal::Customer { customer_id, .. } => change.customer_id == Some(*customer_id),
                Principal::Vendor { .. } => false,
            },
            _ => false,
        }
    }

    /// Whether the session no longer signs its user in: the user is gone
    /// (removed, or with its customer) or its epoch moved on (role or
    /// password changed).
    async fn signed_out(&self) -> bool {
        matches!(
            self.ctx
                .store
                .session_principal(self.user.id, self.user.epoch)
                .await,
            Ok(None)
        )
    }

    /// A customer: recompiles what it may see and tells the page when that
    /// differs from what it knows (or always, with `force`).
    async fn recheck(&mut self, force: bool) {
        match self.ctx.visibility(&self.principal).await {
            Ok(access) => {
                self.valid_until = access.valid_until;
                if force || self.known.as_ref() != Some(&access.visibility) {
                    self.known = Some(access.visibility.clone());
                    self.push(LiveKind::Access, None);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "live updates: loading access failed");
                self.valid_until = None;
                self.push(LiveKind::Access, None);
            }
        }
    }

    /// Events may have been lost: everything is refetched.
    async fn resync(&mut self) {
        match self.principal {
            Principal::Customer { .. } => self.recheck(true).await,
            Principal::Vendor { .. } => self.push(LiveKind::Resync, None),
        }
    }

    /// Queues an event unless the same one is already waiting.
    fn push(&mut self, kind: LiveKind, customer_id: Option<domain::CustomerId>) {
        let e = LiveEvent { kind, customer_id };
        if !self.queue.contains(&e) {
            self.queue.push_back(e);
        }
    }
}

async fn sleep_or_never(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
