//! `/`: the first-run page while no organization exists; otherwise it sends
//! you to sign in or to your home page.

use crate::components::{action_error, invalid, FieldError, FormError};
use crate::server_fns::{get_me, needs_setup, setup_code_required, CreateFirstOrg};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn HomePage() -> impl IntoView {
    let state = Resource::new(
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
        <Suspense fallback=|| view! { <div class="loading" role="status">"Loading…"</div> }>
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
        <main class="auth-page">
            <div class="auth-card wide">
                <div class="brand big">
                    <span class="logo" aria-hidden="true">"▦"</span>
                    <span class="brand-name">"Portcullis"</span>
                </div>
                <h1>"Set up your registry"</h1>
                <p class="lead">
                    "Create your vendor organization and its first admin. The slug is your namespace in the registry: "
                    <code>"host/slug/artifact"</code> "."
                </p>
                <ActionForm action=create attr:class="form" attr:aria-label="Create organization">
                    <FormError error/>
                    {code_required.then(|| view! {
                        <div class="field">
                            <label for="setup_code">"Set-up code"</label>
                            <input id="setup_code" name="setup_code" type="text" required
                                autocomplete="off" autocapitalize="none" spellcheck="false"
                                aria-invalid=invalid(error, "setup_code")
                                aria-describedby="setup_code-hint setup_code-error"/>
                            <p class="hint" id="setup_code-hint">
                                "This server is reachable over the network, so set-up asks for the one-time code it printed in its log when it started."
                            </p>
                            <FieldError error field="setup_code"/>
                        </div>
                    })}
                    <div class="field">
                        <label for="org_name">"Organization name"</label>
                        <input id="org_name" name="org_name" type="text" required maxlength="100"
                            autocomplete="organization" aria-invalid=invalid(error, "org_name")
                            aria-describedby="org_name-error"/>
                        <FieldError error field="org_name"/>
                    </div>
                    <div class="field">
                        <label for="slug">"Slug"</label>
                        <input id="slug" name="slug" type="text" required minlength="2" maxlength="39"
                            pattern="[a-z0-9]+(-[a-z0-9]+)*" autocapitalize="none" spellcheck="false"
                            aria-invalid=invalid(error, "slug") aria-describedby="slug-hint slug-error"/>
                        <p class="hint" id="slug-hint">"Lower-case letters, digits and hyphens, e.g. acme."</p>
                        <FieldError error field="slug"/>
                    </div>
                    <div class="field">
                        <label for="email">"Admin email"</label>
                        <input id="email" name="email" type="email" required autocomplete="email"
                            aria-invalid=invalid(error, "email") aria-describedby="email-error"/>
                        <FieldError error field="email"/>
                    </div>
                    <div class="field">
                        <label for="password">"Admin password"</label>
                        <input id="password" name="password" type="password" required minlength="8"
                            autocomplete="new-password" aria-invalid=invalid(error, "password")
                            aria-describedby="password-hint password-error"/>
                        <p class="hint" id="password-hint">"At least 8 characters."</p>
                        <FieldError error field="password"/>
                    </div>
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Creating…" } else { "Create organization" }}
                    </button>
                    <p class="hint">"Your organization starts with a 30-day Pro trial."</p>
                </ActionForm>
            </div>
        </main>
    }
}
