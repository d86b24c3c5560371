//! `/licenses/:id`: a customer's overview, users, pulls and history.

use crate::components::pulls::{PullsCard, PullsOf};
use crate::components::{
    action_error, invalid, loading, route_param, CopyButton, DataTable, Field, FieldError,
    FormError, InputField, LoadFailed, PageTitle,
};
use crate::server_fns::{
    customer_pulls, fresh_added_user, get_customer, AddCustomerUser, AddedUser, CustomerView,
    DeleteCustomer, RemoveCustomerUser, RenameCustomer,
};
use domain::CustomerRole;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// What the customer's pages (overview, entitlements) say when there is no
/// such customer: the title and the words.
pub const CUSTOMER_NOT_FOUND: (&str, &str) = (
    "Customer not found",
    "There is no customer with this address in your organization.",
);

#[component]
pub fn CustomerPage() -> impl IntoView {
    let id = route_param::<domain::CustomerId>("id");
    let add = ServerAction::<AddCustomerUser>::new();
    let remove = ServerAction::<RemoveCustomerUser>::new();
    let rename = ServerAction::<RenameCustomer>::new();
    let delete = ServerAction::<DeleteCustomer>::new();
    let data = crate::data::load_by_id(id, get_customer);
    let pulls = crate::data::load_by_id(id, customer_pulls);
    // A user added with a one-time link by a plain form post (no
    // JavaScript): the page finds the link by the key in its URL.
    let query = use_query_map();
    let fresh = crate::data::load(
        move || query.read().get("new_link"),
        |key| async move {
            match key {
                Some(key) => fresh_added_user(key).await.ok().flatten(),
                None => None,
            }
        },
    );
    view! {
        <PageTitle title="Customer"/>
        <nav aria-label="Breadcrumb" class="breadcrumb"><A href="/licenses">"Licenses"</A>" / "</nav>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let fresh = fresh.await;
                let pulls = pulls.await;
                match data.await {
                    Ok(view) => view! { <CustomerDetail view fresh pulls add remove rename delete/> }.into_any(),
                    Err(error) => view! {
                        <LoadFailed error missing=CUSTOMER_NOT_FOUND.0><p>{CUSTOMER_NOT_FOUND.1}</p></LoadFailed>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CustomerDetail(
    view: CustomerView,
    fresh: Option<AddedUser>,
    pulls: Result<Vec<domain::pulls::Pull>, crate::server_fns::AppError>,
    add: ServerAction<AddCustomerUser>,
    remove: ServerAction<RemoveCustomerUser>,
    rename: ServerAction<RenameCustomer>,
    delete: ServerAction<DeleteCustomer>,
) -> impl IntoView {
    let CustomerView {
        customer,
        users,
        can_write,
        history,
    } = view;
    let add_error = action_error(add);
    // The link just created, from the URL after the form post.
    let new_link = fresh.and_then(|a| a.set_password_url.map(|url| (a.email, url)));
    // The password field is not `required`: it is not needed for a link
    // (the stylesheet hides it then, and the server asks for it with the
    // first choice).
    let remove_error = action_error(remove);
    let rename_error = action_error(rename);
    let delete_error = action_error(delete);
    let id = customer.id.to_string();
    let user_count = users.len();
    let rows = users
        .into_iter()
        .map(|u| {
            let label = format!("Remove {}", u.email);
            let id = id.clone();
            view! {
                <tr>
                    <td>{u.email.clone()}</td>
                    <td>{u.role.label()}</td>
                    <td class="muted">{u.created_at.format("%Y-%m-%d").to_string()}</td>
                    <td class="actions">
                        {can_write.then(|| view! {
                            <ActionForm action=remove attr:class="inline-form">
                                <input type="hidden" name="customer_id" value=id/>
                                <input type="hidden" name="user_id" value=u.id.to_string()/>
                                <button type="submit" class="btn btn-small btn-danger" aria-label=label>"Remove"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let add_id = id.clone();
    let manage_id = id.clone();
    let delete_id = id.clone();
    let manage_name = customer.name.clone();
    let rename_value = customer.name.clone();
    view! {
        <header class="page-header">
            <h1>{customer.name.clone()}</h1>
        </header>
        <nav class="tabs" aria-label="Customer">
            <a href=format!("/licenses/{}", customer.id) aria-current="page">"Overview"</a>
            <a href=format!("/licenses/{}/entitlements", customer.id)>"Artifact Entitlements"</a>
        </nav>
        <section class="card" aria-labelledby="overview-heading">
            <h2 id="overview-heading">"Overview"</h2>
            <dl class="facts">
                <dt>"Name"</dt><dd>{customer.name.clone()}</dd>
                <dt>"Created"</dt><dd>{customer.created_at.format("%Y-%m-%d").to_string()}</dd>
                <dt>"Users"</dt><dd>{user_count}</dd>
            </dl>

        </section>
        <section class="card" aria-labelledby="cusers-heading">
            <h2 id="cusers-heading">"Users"</h2>
            <FormError error=remove_error/>
            {if user_count == 0 {
                view! { <p class="hint empty-row">"No users yet. Add the people who will sign in to the customer portal."</p> }.into_any()
            } else {
                view! {
                    <DataTable label="Customer users" columns=vec!["Email", "Role", "Added", ""]>{rows}</DataTable>
                }.into_any()
            }}
            {new_link.map(|(email, url)| view! { <NewLink email url/> })}
            {can_write.then(|| view! {
                <h3>"Add a user"</h3>
                <ActionForm action=add attr:class="form form-row add-user" attr:aria-label="Add a customer user">
                    <FormError error=add_error/>
                    <input type="hidden" name="customer_id" value=add_id/>
                    <fieldset class="choice">
                        <legend>"Password"</legend>
                        <label>
                            <input type="radio" name="setup" value="password" checked/>
                            "Set an initial password"
                        </label>
                        <label>
                            <input type="radio" name="setup" value="link"/>
                            "Create a one-time link"
                        </label>
                        <p class="hint link-hint">"The user sets a password with the link. It works once, for 7 days."</p>
                        <FieldError error=add_error field="setup"/>
                    </fieldset>
                    <InputField id="cu-email" label="Email" name="email" error=add_error kind="email" required=true
                        autocomplete="off"/>
                    <Field id="cu-password" label="Initial password" name="password" error=add_error class="password-field">
                        <input id="cu-password" name="password" type="password" autocomplete="new-password"
                            aria-invalid=invalid(add_error, "password") aria-describedby="password-error"/>
                    </Field>
                    <div class="field">
                        <label for="cu-role">"Role"</label>
                        <select id="cu-role" name="role">
                            {CustomerRole::ALL.iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <button type="submit" class="btn btn-primary">"Add user"</button>
                </ActionForm>
            })}
        </section>
        <PullsCard of=PullsOf::Customer(customer.id) pulls/>
        {can_write.then(|| view! {
            <section class="card" aria-labelledby="manage-heading">
                <h2 id="manage-heading">"Manage"</h2>
                <ActionForm action=rename attr:class="form form-row" attr:aria-label="Rename customer">
                    <FormError error=rename_error/>
                    <input type="hidden" name="id" value=manage_id/>
                    <InputField id="rename" label="New name" name="name" error=rename_error required=true
                        maxlength="100" value=rename_value/>
                    <button type="submit" class="btn">"Rename"</button>
                </ActionForm>
                // Open when its form was refused, so the message shows.
                <details class="danger-zone" open=move || delete_error.get().is_some()>
                    <summary>"Delete this customer…"</summary>
                    <p>{format!("Deleting {manage_name} removes its {user_count} user(s), their access tokens and the customer's entitlements. The history below is kept. This cannot be undone.")}</p>
                    <ActionForm action=delete attr:class="form form-row" attr:aria-label="Delete customer">
                        <FormError error=delete_error/>
                        <input type="hidden" name="id" value=delete_id/>
                        <InputField id="confirm" label=format!("Type \u{201c}{manage_name}\u{201d} to confirm")
                            name="confirm" error=delete_error required=true autocomplete="off"/>
                        <button type="submit" class="btn btn-danger">"Delete customer"</button>
                    </ActionForm>
                </details>
            </section>
        })}
        <History events=history/>
    }
}

/// The customer's audit trail: who changed what, when, before and after.
#[component]
fn History(events: Vec<domain::audit::AuditEvent>) -> impl IntoView {
    use domain::audit::describe;
    view! {
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            {if events.is_empty() {
                view! { <p class="hint">"No changes recorded yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="history" aria-label="Changes">
                        {events.into_iter().map(|e| view! {
                            <li>
                                <div class="history-line">
                                    <time datetime=e.at.to_rfc3339()>{e.at.format("%Y-%m-%d %H:%M UTC").to_string()}</time>
                                    <span><strong>{e.actor}</strong>" · "{e.action.label()}" "<em>{e.subject}</em></span>
                                </div>
                                {(e.before.is_some() || e.after.is_some()).then(|| view! {
                                    <dl class="change">
                                        {e.before.map(|b| view! { <dt>"Before"</dt><dd>{describe(&b)}</dd> })}
                                        {e.after.map(|a| view! { <dt>"After"</dt><dd>{describe(&a)}</dd> })}
                                    </dl>
                                })}
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

/// A one-time set-password link just created: shown once, with a copy button.
#[component]
fn NewLink(email: String, url: String) -> impl IntoView {
    view! {
        <div class="notice secret" role="status">
            <p>
                <strong>{format!("{email} was added with a one-time link.")}</strong>
                " Send it to them: it lets them set their password once, within 7 days. Copy it now: it will not be shown again."
            </p>
            <div class="command-row">
                <pre><code data-testid="set-password-url">{url.clone()}</code></pre>
                <CopyButton text=url label="Copy link"/>
            </div>
        </div>
    }
}
