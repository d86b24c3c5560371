//! `/settings`: the organization, its plan, and its users.

use crate::components::tokens::{Tokens, TokensSection};
use crate::components::{
    action_error, DataTable, Field, FormError, InputField, Loaded, PageTitle, SubmitButton,
};
use crate::server_fns::{
    load_settings, AddVendorUser, ChangeVendorRole, RemoveVendorUser, SetImmutableTags,
    SettingsView,
};
use domain::{Plan, VendorRole};
use leptos::form::ActionForm;
use leptos::prelude::*;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let add = ServerAction::<AddVendorUser>::new();
    let change = ServerAction::<ChangeVendorRole>::new();
    let remove = ServerAction::<RemoveVendorUser>::new();
    let immutable = ServerAction::<SetImmutableTags>::new();
    let tokens = Tokens::load();
    let data = crate::data::load(|| (), |_| load_settings());
    view! {
        <PageTitle title="Settings"/>
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <Loaded data ready=move |view| view! { <SettingsBody view add change remove immutable/> }/>
        <TokensSection data=tokens/>
    }
}

fn plan_text(view: &SettingsView) -> String {
    match (view.org.plan, view.org.trial_ends_at) {
        (Plan::ProTrial, Some(end)) => {
            let now = chrono::Utc::now();
            if end > now {
                format!("Pro trial — ends {}", end.format("%Y-%m-%d"))
            } else {
                format!("Pro trial — ended {}", end.format("%Y-%m-%d"))
            }
        }
        (plan, _) => plan.label().to_owned(),
    }
}

#[component]
fn SettingsBody(
    view: SettingsView,
    add: ServerAction<AddVendorUser>,
    change: ServerAction<ChangeVendorRole>,
    remove: ServerAction<RemoveVendorUser>,
    immutable: ServerAction<SetImmutableTags>,
) -> impl IntoView {
    let immutable_tags = view.org.immutable_tags;
    let add_error = action_error(add);
    let change_error = action_error(change);
    let remove_error = action_error(remove);
    let plan = plan_text(&view);
    let is_admin = view.is_admin;
    let me = view.me;
    let rows = view
        .users
        .into_iter()
        .map(|user| {
            let is_me = user.id == me;
            let role_label = format!("Role of {}", user.email);
            let role_form_label = role_label.clone();
            let remove_label = format!("Remove {}", user.email);
            let role_cell = if is_admin {
                view! {
                    <ActionForm action=change attr:class="inline-form" attr:aria-label=role_form_label>
                        <input type="hidden" name="user_id" value=user.id.to_string()/>
                        <label class="visually-hidden" for=format!("role-{}", user.id)>
                            {role_label}
                        </label>
                        <select id=format!("role-{}", user.id) name="role">
                            {VendorRole::ALL
                                .iter()
                                .map(|r| view! { <option value=r.as_str() selected=*r == user.role>{r.label()}</option> })
                                .collect_view()}
                        </select>
                        <button type="submit" class="btn btn-small">"Save role"</button>
                    </ActionForm>
                }
                    .into_any()
            } else {
                view! { <span>{user.role.label()}</span> }.into_any()
            };
            let remove_cell = (is_admin && !is_me).then(|| {
                view! {
                    <ActionForm action=remove attr:class="inline-form">
                        <input type="hidden" name="user_id" value=user.id.to_string()/>
                        <button type="submit" class="btn btn-small btn-danger"
                            aria-label=remove_label>"Remove"</button>
                    </ActionForm>
                }
            });
            view! {
                <tr>
                    <td>
                        {user.email.clone()}
                        {is_me.then(|| view! { <span class="badge">"you"</span> })}
                    </td>
                    <td>{role_cell}</td>
                    <td class="muted">{user.created_at.format("%Y-%m-%d").to_string()}</td>
                    <td class="actions">{remove_cell}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="org-heading">
            <h2 id="org-heading">"Organization"</h2>
            <dl class="facts">
                <dt>"Name"</dt><dd>{view.org.name.clone()}</dd>
                <dt>"Slug"</dt><dd><code>{view.org.slug.clone()}</code></dd>
                <dt>"Plan"</dt><dd data-testid="plan">{plan}</dd>
                <dt>"Tags"</dt>
                <dd data-testid="immutable-tags">
                    {if immutable_tags { "Immutable: an existing tag cannot be pushed again" } else { "Mutable: pushing an existing tag moves it" }}
                </dd>
            </dl>
            {is_admin.then(|| view! {
                <ActionForm action=immutable attr:class="inline-form">
                    <input type="hidden" name="enabled" value=if immutable_tags { "false" } else { "true" }/>
                    <button type="submit" class="btn btn-small">
                        {if immutable_tags { "Allow moving tags" } else { "Make tags immutable" }}
                    </button>
                </ActionForm>
            })}
        </section>
        <section class="card" aria-labelledby="users-heading">
            <h2 id="users-heading">"Users"</h2>
            <FormError error=change_error/>
            <FormError error=remove_error/>
            <DataTable columns=vec!["Email", "Role", "Added", ""]>{rows}</DataTable>
            {is_admin.then(|| view! {
                <h3>"Add a user"</h3>
                <ActionForm action=add attr:class="form form-row" attr:aria-label="Add a user">
                    <FormError error=add_error/>
                    <InputField id="new-email" label="Email" name="email" error=add_error kind="email" required=true
                        autocomplete="off"/>
                    <InputField id="new-password" label="Initial password" name="password" error=add_error
                        kind="password" required=true minlength="8" autocomplete="new-password"/>
                    <Field id="new-role" label="Role" name="role" error=add_error>
                        <select id="new-role" name="role">
                            <option value="read_only">"Read only"</option>
                            <option value="read_write">"Read & write"</option>
                            <option value="admin">"Admin"</option>
                        </select>
                    </Field>
                    <SubmitButton label="Add user" busy="Adding…"/>
                </ActionForm>
            })}
            {(!is_admin).then(|| view! {
                <p class="hint">"Only admins can add or remove users and change roles."</p>
            })}
        </section>
    }
}
