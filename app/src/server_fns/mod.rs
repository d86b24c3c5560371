//! Server functions (the UI's RPC surface, endpoints `/api/<name>`) and the
//! error type they share. Not the JSON API (that is `src/api`, `/api/v1`).
//!
//! Each is an adapter: it parses what the page sent, resolves the caller
//! once and calls one use case of `services::Services` in
//! `ssr::with_caller` (public ones in `ssr::answer`), and returns a DTO;
//! `AppError` comes from the use case's `ServiceError` in one place
//! (`ssr.rs`).

mod accounts;
mod customers;
mod entitlements;
mod error;
mod password_links;
mod portal;
mod pulls;
mod registry;
mod upstreams;

pub use accounts::*;
pub use customers::*;
pub use entitlements::*;
pub use error::AppError;
pub use password_links::*;
pub use portal::*;
pub use pulls::*;
pub use registry::*;
pub use upstreams::*;

/// A list page's `limit` (as it came in the address; default
/// [`domain::paging::PAGE_SIZE`]) and cursor, checked.
#[cfg(feature = "ssr")]
fn page_params(
    limit: Option<String>,
    after: Option<String>,
) -> Result<(i64, Option<String>), AppError> {
    use domain::paging::{check, MAX_LIMIT, PAGE_SIZE};
    let limit = match limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(l.parse::<i64>().map_err(|_| {
            AppError::field("limit", format!("Choose a limit from 1 to {MAX_LIMIT}."))
        })?),
    };
    Ok(check(limit, after, PAGE_SIZE).map_err(services::ServiceError::from)?)
}
