//! Server functions (the UI's RPC surface, endpoints `/api/<name>`) and the
//! error type they share. Not the JSON API (that is `src/api`, `/api/v1`).
//!
//! Each is an adapter: it parses what the page sent, resolves the caller
//! once (`ssr::signed_in`/`require_*`), calls one use case of
//! `services::Services` and returns a DTO; `AppError` comes from the use
//! case's `ServiceError` in one place (`ssr.rs`).

mod accounts;
mod customers;
mod entitlements;
mod error;
mod password_links;
mod portal;
mod pulls;
mod registry;

pub use accounts::*;
pub use customers::*;
pub use entitlements::*;
pub use error::AppError;
pub use password_links::*;
pub use portal::*;
pub use pulls::*;
pub use registry::*;
