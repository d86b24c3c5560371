//! `/set-password/:secret`: a customer user added with a one-time link
//! chooses a password, and is signed in. Public (the link is the key).

use crate::components::{
    action_error, loading, AuthCard, ErrorPanel, FormError, InputField, SubmitButton,
};
use crate::server_fns::{get_password_link, AppError, SetPassword, LINK_INVALID};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let params = use_params_map();
    let secret = move || params.read().get("secret").unwrap_or_default();
    let link = crate::data::load(secret, get_password_link);
    let set = ServerAction::<SetPassword>::new();
    let error = action_error(set);
    view! {
        <Title text="Set your password · Portcullis"/>
        // The secret is in this page's address: no referrer to other sites.
        // (Same-origin posts keep theirs: a plain form post's errors are
        // sent back to the page it names.)
        <Meta name="referrer" content="same-origin"/>
        <AuthCard>
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match link.await {
                        Ok(info) => view! {
                            <h1>"Set your password"</h1>
                            <p class="lead">"Choose the password you will sign in with. This link works once."</p>
                            <ActionForm action=set attr:class="form" attr:aria-label="Set your password">
                                <FormError error/>
                                <input type="hidden" name="secret" value=secret()/>
                                <div class="field">
                                    <label for="sp-email">"Email"</label>
                                    // No name: shown (and offered to password managers), not sent.
                                    <input id="sp-email" type="email" readonly autocomplete="username" value=info.email/>
                                </div>
                                <InputField id="sp-password" label="New password" name="password" error kind="password"
                                    required=true minlength="8" autocomplete="new-password" hint="At least 8 characters."/>
                                <InputField id="sp-confirm" label="Confirm the password" name="confirm" error
                                    kind="password" required=true autocomplete="new-password"/>
                                <SubmitButton label="Set password and sign in" busy="Saving…"/>
                            </ActionForm>
                        }.into_any(),
                        Err(AppError::NotFound) => view! {
                            <h1>"This link does not work"</h1>
                            <p class="form-error" role="alert">{LINK_INVALID}</p>
                            <p><a href="/signin">"Go to sign in"</a></p>
                        }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
        </AuthCard>
    }
}
