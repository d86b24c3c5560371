//! The customer portal (SPEC §5): one module per page (the artifacts the
//! customer may pull, an artifact's pull instructions, access tokens), each
//! rendered in [`crate::components::PortalLayout`];
//! [`crate::routes::PortalRoutes`] lists them (the page guard's portal area).

pub mod artifact;
pub mod artifacts;
mod tags;
pub mod tokens;
