//! Console pages that later releases fill: Licenses.

use crate::components::{ConsoleShell, EmptyState};
use leptos::prelude::*;

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
