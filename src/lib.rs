//! The Portcullis server: configuration, the HTTP router (UI, server
//! functions, live updates, health), and the admin CLI. `main.rs` only dispatches.

// The UI's route tree is one deeply nested type, laid out here where the
// router serves it.
#![recursion_limit = "256"]
pub mod api;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod config;
pub mod edge;
pub mod embedded;
pub mod guard;
pub mod live;
pub mod metrics;
pub mod mirror;
pub mod registry;
pub mod server;
pub mod sessions;

pub use server::{build_router, AppState};
