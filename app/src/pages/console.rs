//! Console pages that later releases fill: Artifacts and Licenses.

use crate::components::{ConsoleShell, EmptyState};
use leptos::prelude::*;

#[component]
pub fn ArtifactsPage() -> impl IntoView {
    view! {
        <ConsoleShell title="Artifacts">
            <header class="page-header">
                <h1>"Artifacts"</h1>
            </header>
            <EmptyState title="No artifacts yet">
                <p>
                    "Container images, Helm charts and other OCI artifacts your organization pushes will be listed here. "
                    "This server does not accept pushes yet: the registry endpoint is not enabled in this build."
                </p>
            </EmptyState>
        </ConsoleShell>
    }
}

#[component]
pub fn LicensesPage() -> impl IntoView {
    view! {
        <ConsoleShell title="Licenses">
            <header class="page-header">
                <h1>"Licenses"</h1>
            </header>
            <EmptyState title="No customers yet">
                <p>
                    "Customers and their artifact entitlements will be managed here. "
                    "Customer management is not available in this build yet."
                </p>
            </EmptyState>
        </ConsoleShell>
    }
}
