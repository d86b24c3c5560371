//! Portcullis use cases: one layer under every front door.
//!
//! The server functions of the UI (`app`), the JSON API (`src/api`), the
//! `portcullis admin` CLI, the page guard and `/events` are adapters: they
//! parse their input, resolve the caller (a [`domain::Principal`]) once,
//! call one use case of [`Services`] and turn its [`ServiceError`] into
//! their own answer in one place. The use cases own the rules a caller must
//! pass ([`authz`]), the store, the caches, the throttles, the change hub
//! and the clock.
//!
//! Layers (an arrow is "may import"): `portcullis` (server, registry, API,
//! CLI) -> `app` (UI, only `src/server.rs` mounts it) -> `services` ->
//! `domain`. Nothing here renders or speaks HTTP.

pub mod accounts;
pub mod artifacts;
pub mod authz;
pub mod customers;
pub mod entitlements;
pub mod error;
pub mod pulls;
pub mod session;
pub mod setup;
pub mod tokens;
pub mod upstreams;

pub use authz::{CustomerCaller, Need, VendorCaller};
pub use error::{ServiceError, ServiceResult};

use chrono::{DateTime, Utc};
use domain::access::AccessCache;
use domain::changes::ChangeKind;
use domain::store::DynStore;
use domain::throttle::Throttle;
use domain::token_cache::TokenCache;
use std::sync::Arc;
use std::time::Duration;

/// Failed sign-ins allowed per email, and per client address, in a window.
const MAX_FAILURES_PER_EMAIL: u32 = 5;
const MAX_FAILURES_PER_ADDR: u32 = 20;
const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The clock the use cases read (a fixed one in tests).
#[derive(Clone, Default)]
pub struct Clock(Option<DateTime<Utc>>);

impl Clock {
    /// A clock that always reads `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Some(at))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.0.unwrap_or_else(Utc::now)
    }
}

/// How a server is set up (the rest comes from the store).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The public base URL, e.g. `https://registry.example.com`.
    pub public_url: String,
    /// The one-time code the first-run form asks for; `None` on loopback
    /// or when an organization existed at start ([`setup`]).
    pub setup_code: Option<Arc<str>>,
}

/// The use cases, with everything they share. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: DynStore,
    /// Failed sign-ins per email.
    pub email_throttle: Arc<Throttle>,
    /// Failed sign-ins per client address.
    pub addr_throttle: Arc<Throttle>,
    /// The public base URL, e.g. `https://registry.example.com`.
    pub public_url: String,
    /// Access tokens checked from memory (evicted through the change hub).
    pub tokens: Arc<TokenCache>,
    /// What each customer may see, compiled in memory (evicted through the
    /// change hub).
    pub access: Arc<AccessCache>,
    /// Sessions that just signed out, for the `/events` streams.
    pub session_ends: Arc<session::SessionEnds>,
    pub setup_code: Option<Arc<str>>,
    pub clock: Clock,
    /// Upstream mirroring: the credentials key, allowed addresses, and the
    /// sync engine's wake-up ([`upstreams`]).
    pub upstreams: Arc<upstreams::UpstreamSettings>,
}

impl Services {
    /// The use cases over `store`, with the caches' evictions registered on
    /// its change hub: a change applies to them before its writer answers
    /// (and, through the server's poll, when another process made it).
    pub fn new(store: DynStore, settings: Settings) -> Self {
        let services = Self {
            store,
            email_throttle: Arc::new(Throttle::new(MAX_FAILURES_PER_EMAIL, THROTTLE_WINDOW)),
            addr_throttle: Arc::new(Throttle::new(MAX_FAILURES_PER_ADDR, THROTTLE_WINDOW)),
            public_url: settings.public_url,
            tokens: Arc::default(),
            access: Arc::default(),
            session_ends: Arc::default(),
            setup_code: settings.setup_code,
            clock: Clock::default(),
            upstreams: Arc::default(),
        };
        services.evict_on_changes();
        services
    }

    /// The caches forget what a change makes stale. The only place tokens
    /// and compiled access are evicted: use cases never evict by hand.
    fn evict_on_changes(&self) {
        let hub = self.store.change_hub();
        let access = self.access.clone();
        hub.listen(move |c| access.apply(c));
        let tokens = self.tokens.clone();
        hub.listen(move |c| match (c.kind, c.user_id, c.customer_id) {
            (ChangeKind::UserChanged | ChangeKind::TokenRevoked, Some(user), _) => {
                tokens.invalidate_user(user)
            }
            (ChangeKind::CustomerRemoved, _, Some(customer)) => {
                tokens.invalidate_customer(customer)
            }
            _ => {}
        });
    }

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
