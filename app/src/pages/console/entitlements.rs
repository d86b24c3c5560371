//! The customer's Artifact Entitlements tab.

use super::customer::CUSTOMER_NOT_FOUND;
use crate::components::{
    action_error, route_param, DataTable, FormError, Loaded, PageTitle, SearchForm,
};
use crate::server_fns::{list_entitlements, DeleteEntitlement, EntitlementsView};
use chrono::Utc;
use domain::entitlements::EntitlementView;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// "Expired", "Expires in N days" or the date.
fn expiry(e: &EntitlementView) -> (String, &'static str) {
    match e.expires_at {
        None => ("Never".into(), ""),
        Some(end) => {
            let days = (end - Utc::now()).num_days();
            if end <= Utc::now() {
                (
                    format!("Expired {}", end.format("%Y-%m-%d")),
                    "mark mark-expired",
                )
            } else if days <= 30 {
                (
                    format!(
                        "Expires in {} day{}",
                        days.max(1),
                        if days.max(1) == 1 { "" } else { "s" }
                    ),
                    "mark mark-soon",
                )
            } else {
                (end.format("%Y-%m-%d").to_string(), "")
            }
        }
    }
}

#[component]
pub fn EntitlementsPage() -> impl IntoView {
    let query = use_query_map();
    let id = route_param::<domain::CustomerId>("id");
    let q = move || query.read().get("q");
    let delete = ServerAction::<DeleteEntitlement>::new();
    let data = crate::data::load_by_id(
        move || id().map(|id| (id, q())),
        |(id, q)| list_entitlements(id, q),
    );
    view! {
        <PageTitle title="Artifact Entitlements"/>
        // Rendered again when another session changes this customer's
        // entitlements.
        {move || id().map(|id| view! { <crate::live::LiveRefresh customer=id/> })}
        <nav aria-label="Breadcrumb" class="breadcrumb"><A href="/licenses">"Licenses"</A>" / "</nav>
        <Loaded data ready=move |view| view! { <EntitlementsTab view delete q=q()/> }
            missing=CUSTOMER_NOT_FOUND.0>
            <p>{CUSTOMER_NOT_FOUND.1}</p>
        </Loaded>
    }
}

#[component]
fn EntitlementsTab(
    view: EntitlementsView,
    delete: ServerAction<DeleteEntitlement>,
    q: Option<String>,
) -> impl IntoView {
    let EntitlementsView {
        customer_id,
        customer_name,
        entitlements,
        can_write,
        plan_active,
        plan,
        trial_ends_at,
    } = view;
    let plan_label = match trial_ends_at {
        Some(end) if plan == domain::Plan::ProTrial => {
            let verb = if end <= Utc::now() { "ended" } else { "ends" };
            format!(
                "{} plan, trial {verb} {}",
                plan.label(),
                end.format("%Y-%m-%d")
            )
        }
        _ => format!("{} plan", plan.label()),
    };
    let delete_error = action_error(delete);
    let empty = entitlements.is_empty();
    let searching = q.as_deref().is_some_and(|q| !q.is_empty());
    view! {
        <header class="page-header">
            <h1>{customer_name}</h1>
            <span class="badge" title="Your organization's plan">{plan_label}</span>
        </header>
        <nav class="tabs" aria-label="Customer">
            <a href=format!("/licenses/{customer_id}")>"Overview"</a>
            <a href=format!("/licenses/{customer_id}/entitlements") aria-current="page">"Artifact Entitlements"</a>
        </nav>
        {(!plan_active).then(|| view! {
            <section class="card plan-note" role="note">
                <h2>"Artifact Entitlements are a Pro feature"</h2>
                <p>"With entitlements you decide which artifacts, and which tags of them, each customer may see and pull. Your organization's plan does not include them right now, so every customer sees every artifact; existing entitlements are kept and apply again after an upgrade."</p>
                <p class="hint">"To upgrade, ask your Portcullis operator to run "<code>"portcullis admin set-plan --org <slug> --plan pro"</code>"."</p>
            </section>
        })}
        <section class="card" aria-labelledby="ent-heading">
            <div class="card-header">
                <h2 id="ent-heading">"Artifact Entitlements"</h2>
                <div class="card-tools">
                <SearchForm name="Search entitlements" id="ent-search" label="Search by entitlement or artifact name"
                    placeholder="Entitlement or artifact"
                    value=q.clone().unwrap_or_default() as_you_type=true/>
                {(can_write && plan_active).then(|| view! {
                    <a class="btn btn-primary" href=format!("/licenses/{customer_id}/entitlements/new")>"Create Entitlement"</a>
                })}
                </div>
            </div>
            <FormError error=delete_error/>
            {if empty && !searching {
                view! { <p class="hint empty-row">"This customer has no entitlements yet."</p> }.into_any()
            } else {
                view! {
                    <DataTable label="Entitlements" columns=vec!["Name", "Artifacts", "Expiration", ""]>
                                {entitlements.into_iter().map(|e| {
                                        let (exp, class) = expiry(&e);
                                        let label = format!("Delete {}", e.name);
                                        let href = format!("/licenses/{customer_id}/entitlements/{}", e.id);
                                        // A click anywhere on the row follows its link
                                        // (public/router.js).
                                        view! {
                                            <tr class="clickable" id=format!("entitlement-{}", e.id)>
                                                <td><a href=href class="row-link"><strong>{e.name.clone()}</strong></a></td>
                                                <td>
                                                    <ul class="grants">
                                                        {e.artifacts.iter().map(|g| {
                                                            let tags = g.tags.describe();
                                                            view! { <li><code>{g.artifact.clone()}</code>" · "<span class="muted">{tags}</span></li> }
                                                        }).collect_view()}
                                                    </ul>
                                                </td>
                                                <td><span class=class>{exp}</span></td>
                                                <td class="actions">
                                                    {(can_write && plan_active).then(|| view! {
                                                        <details class="confirm">
                                                            <summary class="btn btn-small btn-danger" aria-label=label.clone()>"Delete"</summary>
                                                            <ActionForm action=delete attr:class="inline-form">
                                                                <input type="hidden" name="id" value=e.id.to_string()/>
                                                                <button type="submit" class="btn btn-small btn-danger">"Confirm delete"</button>
                                                            </ActionForm>
                                                        </details>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                            </DataTable>
                }.into_any()
            }}
        </section>
    }
}
