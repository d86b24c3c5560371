//! `/set-password/:secret`: a customer user added with a one-time link
//! chooses a password, and is signed in. Public (the link is the key).

use crate::components::{action_error, invalid, ErrorPanel, FieldError, FormError};
use crate::server_fns::{get_password_link, AppError, SetPassword, LINK_INVALID};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let params = use_params_map();
    let secret = move || params.read().get("secret").unwrap_or_default();
    let link = Resource::new(secret, get_password_link);
    let set = ServerAction::<SetPassword>::new();
    let error = action_error(set);
    view! {
        <Title text="Set your password · Portcullis"/>
        // The secret is in this page's address: no referrer to other sites.
        // (Same-origin posts keep theirs: a plain form post's errors are
        // sent back to the page it names.)
        <Meta name="referrer" content="same-origin"/>
        <main class="auth-page">
            <div class="auth-card">
                <div class="brand big">
                    <span class="logo" aria-hidden="true">"▦"</span>
                    <span class="brand-name">"Portcullis"</span>
                </div>
                <Transition fallback=|| view! { <div class="loading" role="status">"Loading…"</div> }>
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
                                    <div class="field">
                                        <label for="sp-password">"New password"</label>
                                        <input id="sp-password" name="password" type="password" required minlength="8" autocomplete="new-password"
                                            aria-invalid=invalid(error, "password") aria-describedby="password-error"/>
                                        <p class="hint">"At least 8 characters."</p>
                                        <FieldError error field="password"/>
                                    </div>
                                    <div class="field">
                                        <label for="sp-confirm">"Confirm the password"</label>
                                        <input id="sp-confirm" name="confirm" type="password" required autocomplete="new-password"
                                            aria-invalid=invalid(error, "confirm") aria-describedby="confirm-error"/>
                                        <FieldError error field="confirm"/>
                                    </div>
                                    <button type="submit" class="btn btn-primary" disabled=move || set.pending().get()>
                                        {move || if set.pending().get() { "Saving…" } else { "Set password and sign in" }}
                                    </button>
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
            </div>
        </main>
    }
}
