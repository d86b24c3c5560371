//! The route tree: every page of the app, grouped by whom it is for.
//! [`crate::App`] renders these routes and the server's page guard asks
//! [`area`] whom a path is for, so a page is guarded as soon as it is
//! routed.
//!
//! Every route renders completely on the server before it is sent
//! (`SsrMode::Async`), so pages and forms work without JavaScript and
//! redirects can still set the status code.

use crate::components::{ConsoleLayout, PortalLayout};
use crate::pages::{console, home, portal, set_password, signin};
use domain::pages::Area;
use leptos::prelude::*;
use leptos_router::any_nested_route::IntoAnyNestedRoute;
use leptos_router::components::{ParentRoute, Route};
use leptos_router::location::RequestUrl;
use leptos_router::{path, MatchNestedRoutes, SsrMode};

/// `/`: the first-run page.
#[component(transparent)]
pub fn FirstRunRoutes() -> impl MatchNestedRoutes + Clone {
    view! { <Route path=path!("/") view=home::HomePage ssr=SsrMode::Async/> }.into_inner()
}

/// `/signin`.
#[component(transparent)]
pub fn SignInRoutes() -> impl MatchNestedRoutes + Clone {
    view! { <Route path=path!("/signin") view=signin::SignInPage ssr=SsrMode::Async/> }.into_inner()
}

/// Pages for anyone.
#[component(transparent)]
pub fn PublicRoutes() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=path!("/set-password/:secret") view=set_password::SetPasswordPage ssr=SsrMode::Async/>
    }
    .into_inner()
}

/// The vendor console: its pages under their frame, [`ConsoleLayout`] (a
/// parent route whose layout renders the page in an `<Outlet/>`).
#[component(transparent)]
pub fn ConsoleRoutes() -> impl MatchNestedRoutes + Clone {
    view! {
        <ParentRoute path=path!("") view=ConsoleLayout ssr=SsrMode::Async>
            <Route path=path!("/artifacts") view=console::artifacts::ArtifactsPage ssr=SsrMode::Async/>
            <Route path=path!("/artifacts/*name") view=console::artifact::ArtifactPage ssr=SsrMode::Async/>
            <Route path=path!("/licenses") view=console::licenses::LicensesPage ssr=SsrMode::Async/>
            <Route path=path!("/licenses/:id") view=console::customer::CustomerPage ssr=SsrMode::Async/>
            <Route path=path!("/licenses/:id/entitlements") view=console::entitlements::EntitlementsPage ssr=SsrMode::Async/>
            <Route path=path!("/licenses/:id/entitlements/new") view=console::entitlement_form::EntitlementFormPage ssr=SsrMode::Async/>
            <Route path=path!("/licenses/:id/entitlements/:eid") view=console::entitlement_form::EntitlementFormPage ssr=SsrMode::Async/>
            <Route path=path!("/settings") view=console::settings::SettingsPage ssr=SsrMode::Async/>
            <Route path=path!("/upstreams/new") view=console::upstreams::NewUpstreamPage ssr=SsrMode::Async/>
            <Route path=path!("/upstreams/:id") view=console::upstreams::UpstreamPage ssr=SsrMode::Async/>
        </ParentRoute>
    }
    .into_inner()
    // One type for the group, as the release bundle's `erase_components`
    // build requires of a component (scripts/lib.sh).
    .into_any_nested_route()
}

/// The customer portal: its pages under their frame, [`PortalLayout`].
#[component(transparent)]
pub fn PortalRoutes() -> impl MatchNestedRoutes + Clone {
    view! {
        <ParentRoute path=path!("/portal") view=PortalLayout ssr=SsrMode::Async>
            <Route path=path!("") view=portal::artifacts::PortalHome ssr=SsrMode::Async/>
            <Route path=path!("/artifacts/*name") view=portal::artifact::PortalArtifactPage ssr=SsrMode::Async/>
            <Route path=path!("/tokens") view=portal::tokens::PortalTokensPage ssr=SsrMode::Async/>
        </ParentRoute>
    }
    .into_inner()
    .into_any_nested_route()
}

/// Whether `routes` render a page at `path`, as the router decides it.
fn renders(routes: impl MatchNestedRoutes, path: &str) -> bool {
    let (matched, rest) = routes.match_nested(path);
    matched.is_some() && (rest.is_empty() || rest == "/")
}

/// Whom the page at `path_and_query` (a request's target) is for: the area
/// of the route the router would render for it, read from the target as
/// the server-side router reads it. `None` when no route renders it (the
/// not-found page): the guard then fails closed.
pub fn area(path_and_query: &str) -> Option<Area> {
    let url = RequestUrl::new(path_and_query).parse().ok()?;
    let path = url.path();
    if renders(FirstRunRoutes(), path) {
        Some(Area::FirstRun)
    } else if renders(SignInRoutes(), path) {
        Some(Area::SignIn)
    } else if renders(PublicRoutes(), path) {
        Some(Area::Public)
    } else if renders(ConsoleRoutes(), path) {
        Some(Area::Console)
    } else if renders(PortalRoutes(), path) {
        Some(Area::Portal)
    } else {
        None
    }
}
