//! `/signin`: one form for vendor and customer users.

use crate::components::{action_error, query_value, AuthCard, FormError, InputField, SubmitButton};
use crate::server_fns::SignIn;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = action_error(sign_in);
    let next = query_value("next");
    let query = use_query_map();
    let welcome = move || query.read().get("welcome").is_some();
    view! {
        <Title text="Sign in · Portcullis"/>
        <AuthCard>
            <h1>"Sign in"</h1>
            <Show when=welcome>
                <div class="notice" role="status">"Your organization is ready. Sign in with the admin account you just created."</div>
            </Show>
            <ActionForm action=sign_in attr:class="form" attr:aria-label="Sign in">
                <FormError error/>
                <input type="hidden" name="next" value=next/>
                <InputField id="email" label="Email" name="email" error kind="email" required=true
                    autocomplete="username"/>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" required
                        autocomplete="current-password"/>
                </div>
                <SubmitButton label="Sign in" busy="Signing in…"/>
            </ActionForm>
        </AuthCard>
    }
}
