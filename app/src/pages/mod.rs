//! One module per page.

pub mod artifacts;
pub mod entitlement_form;
pub mod entitlements;
pub mod home;
pub mod licenses;
pub mod portal;
pub mod pulls;
pub mod set_password;
pub mod settings;
pub mod signin;
pub mod tokens;

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
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
