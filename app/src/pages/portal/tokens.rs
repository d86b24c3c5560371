//! `/portal/tokens`: the customer user's access tokens.

use crate::components::tokens::{Tokens, TokensSection};
use crate::components::PageTitle;
use leptos::prelude::*;

#[component]
pub fn PortalTokensPage() -> impl IntoView {
    let tokens = Tokens::load();
    view! {
        <PageTitle title="Access tokens"/>
        <header class="page-header">
            <h1>"Access tokens"</h1>
        </header>
        <p class="lead">"Registry clients (docker, podman, helm, oras) sign in with your email as the user name and an access token as the password. Create one per machine or pipeline, and revoke it when it is no longer needed."</p>
        <TokensSection data=tokens/>
    }
}
