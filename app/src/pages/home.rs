//! `/`: the first-run page while no organization exists; otherwise it sends
//! you to sign in or to your home page.

use crate::components::{action_error, loading, AuthCard, FormError, InputField, SubmitButton};
use crate::server_fns::{get_me, needs_setup, setup_code_required, CreateFirstOrg};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn HomePage() -> impl IntoView {
    let state = crate::data::load(
        || (),
        |_| async {
            let setup = needs_setup().await;
            // Only asked while set-up is offered.
            let code = match setup {
                Ok(true) => setup_code_required().await.unwrap_or(true),
                _ => false,
            };
            (setup, code, get_me().await)
        },
    );
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match state.await {
                    (Ok(true), code_required, _) => view! { <SetupForm code_required/> }.into_any(),
                    (_, _, Ok(Some(me))) => view! { <Redirect path=me.home_path()/> }.into_any(),
                    _ => view! { <Redirect path="/signin"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SetupForm(
    /// Whether the one-time set-up code from the server's log is asked for
    /// (the server listens on a non-loopback address).
    code_required: bool,
) -> impl IntoView {
    let create = ServerAction::<CreateFirstOrg>::new();
    let error = action_error(create);
    view! {
        <Title text="Set up Portcullis"/>
        <AuthCard wide=true>
            <h1>"Set up your registry"</h1>
            <p class="lead">
                "Create your vendor organization and its first admin. The slug is your namespace in the registry: "
                <code>"host/slug/artifact"</code> "."
            </p>
            <ActionForm action=create attr:class="form" attr:aria-label="Create organization">
                <FormError error/>
                {code_required.then(|| view! {
                    <InputField id="setup_code" label="Set-up code" name="setup_code" error required=true
                        autocomplete="off" literal=true
                        hint="This server is reachable over the network, so set-up asks for the one-time code it printed in its log when it started."/>
                })}
                <InputField id="org_name" label="Organization name" name="org_name" error required=true
                    maxlength="100" autocomplete="organization"/>
                <InputField id="slug" label="Slug" name="slug" error required=true minlength="2" maxlength="39"
                    pattern="[a-z0-9]+(-[a-z0-9]+)*" literal=true
                    hint="Lower-case letters, digits and hyphens, e.g. acme."/>
                <InputField id="email" label="Admin email" name="email" error kind="email" required=true
                    autocomplete="email"/>
                <InputField id="password" label="Admin password" name="password" error kind="password"
                    required=true minlength="8" autocomplete="new-password" hint="At least 8 characters."/>
                <SubmitButton label="Create organization" busy="Creating…"/>
                <p class="hint">"Your organization starts with a 30-day Pro trial."</p>
            </ActionForm>
        </AuthCard>
    }
}
