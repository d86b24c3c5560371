//! The page for an address that is no page.

use leptos::prelude::*;
use leptos_meta::Title;

/// The router's fallback (answered 404).
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::set_status(axum::http::StatusCode::NOT_FOUND);
    view! {
        <Title text="Not found · Portcullis"/>
        <main class="auth-page">
            <div class="auth-card">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <p><a href="/">"Go to Portcullis"</a></p>
            </div>
        </main>
    }
}
