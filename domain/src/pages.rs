//! Whom a page of the UI is for. The UI's route tree puts each page in one
//! [`Area`] (`app::routes::area`); the server's page guard enforces it
//! before the page renders.

/// Whom a page is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// `/`: the first-run page while no organization exists; otherwise it
    /// sends you to sign in or home.
    FirstRun,
    /// `/signin`: for signed-out users (signed-in ones are sent home).
    SignIn,
    /// Anyone: a one-time link's page (the link is the key).
    Public,
    /// The vendor console: vendor users.
    Console,
    /// The customer portal: customer users.
    Portal,
}
