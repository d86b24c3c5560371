//! The events of `GET /events` (live updates, SPEC §3 "Real time"), as the
//! server sends them and the browser reads them.

use crate::CustomerId;
use serde::{Deserialize, Serialize};

/// What an event says changed. Never carries anything secret: the page
/// refetches through its usual, authorized server functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveKind {
    /// A customer user: what you may see changed.
    Access,
    /// A vendor user: a customer's entitlements changed.
    Entitlements,
    /// A vendor user: a customer was removed.
    CustomerRemoved,
    /// A vendor user: the organization's plan changed.
    Plan,
    /// A vendor user: an upstream's sync started, progressed or ended.
    Upstreams,
    /// Events may have been lost: refresh everything.
    Resync,
    /// Your account (or your customer) was removed: the page reloads, which
    /// leads to the sign-in page.
    SignedOut,
}

/// The `data` of one event, as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub kind: LiveKind,
    /// The customer concerned (vendor events); `None` concerns everything.
    pub customer_id: Option<CustomerId>,
}
