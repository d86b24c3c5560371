//! The Portcullis web UI: the vendor console and the customer portal.
//!
//! Rendered on the server (feature `ssr`); in the browser (feature
//! `hydrate`) only the islands, the interactive parts, are hydrated, and
//! public/router.js follows links and forms in place. Pages call server
//! functions in [`server_fns`]; every server function authenticates first
//! and returns plain DTOs with no secrets.

#![recursion_limit = "256"]

pub mod components;
pub mod data;
pub mod live;
pub mod pages;
pub mod routes;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::components::{Router, Routes};

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Taken before the page's data is read: live updates resume from here.
    #[cfg(feature = "ssr")]
    let position = use_context::<services::Services>()
        .map(|s| s.store.change_hub().position().to_string())
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let position = String::new();
    // `portcullis`, or `portcullis.<content hash>` for the bundle embedded in
    // a release binary (the same name HydrationScripts gives the JS and wasm).
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    // The router script keeps its name; with a bundle's hash (which covers
    // it, see build.rs) in its address, a new release's is fetched at once.
    let router = match options.output_name.strip_prefix("portcullis.") {
        Some(hash) => format!("/router.js?v={hash}"),
        None => "/router.js".to_owned(),
    };
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href=stylesheet/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <meta name=live::AFTER_META content=position/>
                <HydrationScripts options islands=true/>
                // In-place navigation between server-rendered pages
                // (public/router.js).
                <script type="module" src=router nonce=leptos::nonce::use_nonce()></script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <routes::FirstRunRoutes/>
                <routes::SignInRoutes/>
                <routes::PublicRoutes/>
                <routes::ConsoleRoutes/>
                <routes::PortalRoutes/>
            </Routes>
        </Router>
    }
}

/// Browser entry point: hydrate the server-rendered page's islands (the
/// interactive parts; everything else is rendered on the server only).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A marker for tests and styles: the page is interactive now. The
    // loader hydrates the islands right after this returns, each in a
    // microtask, so a task queued now runs once they all are.
    leptos::prelude::set_timeout(
        || {
            if let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
            {
                let _ = body.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}
