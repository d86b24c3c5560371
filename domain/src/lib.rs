//! Portcullis domain: everything the server and the UI agree on, with no web
//! framework in it.
//!
//! * [`types`] — values that can only exist in valid form (`Email`, `OrgSlug`,
//!   roles, plans) and the plain data that crosses to the browser.
//! * [`throttle`] — sign-in throttling (pure, in memory).
//! * [`pulls`] — the pull log's records, reads and CSV export.
//! * [`pages`] — whom each area of the UI is for (the page guard's vocabulary).
//! * `store` (feature `store`) — the [`store::Store`] trait, its SQLite
//!   implementation and password hashing. The only place SQL lives.

#[macro_use]
mod parsed;

pub mod audit;
pub mod entitlements;
pub mod live;
pub mod oci;
pub mod pages;
pub mod paging;
pub mod policy;
pub mod pulls;
pub mod registry;
pub mod throttle;
pub mod types;
pub mod upstreams;

#[cfg(feature = "store")]
pub mod access;
#[cfg(feature = "store")]
pub mod changes;
#[cfg(feature = "store")]
pub mod messages;
#[cfg(feature = "store")]
pub mod password;
#[cfg(feature = "store")]
pub mod password_links;
#[cfg(feature = "store")]
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(feature = "store")]
pub mod token_cache;

pub use types::*;
