//! Server functions (the UI's RPC surface) and the error type they share.
//!
//! Each server function states who may call it on its first line
//! (`ssr::require_*`), then calls the domain and returns a DTO.

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
