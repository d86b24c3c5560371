//! The customer portal.

use crate::components::{EmptyState, PortalShell};
use leptos::prelude::*;

#[component]
pub fn PortalHome() -> impl IntoView {
    view! {
        <PortalShell title="Artifacts">
            <header class="page-header">
                <h1>"Artifacts"</h1>
            </header>
            <EmptyState title="Nothing to pull yet">
                <p>"Artifacts your vendor shares with you will be listed here, with ready-to-copy pull commands. If you expected to see something, ask your contact at the vendor to grant you access."</p>
            </EmptyState>
        </PortalShell>
    }
}
