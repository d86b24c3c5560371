//! The vendor console: one module per page. Each page renders under
//! [`crate::components::ConsoleLayout`]; [`crate::routes::ConsoleRoutes`]
//! lists them (the page guard's console area).

pub mod artifact;
pub mod artifacts;
pub mod customer;
pub mod entitlement_form;
pub mod entitlements;
pub mod licenses;
pub mod settings;
pub mod upstreams;
