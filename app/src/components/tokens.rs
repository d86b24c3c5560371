//! Access tokens: a section shared by the console's Settings and the portal.

use crate::components::{
    action_error, loading, CopyButton, DataTable, ErrorPanel, Field, FormError, InputField,
};
use crate::server_fns::{list_tokens, AppError, CreateToken, RevokeToken, TokensView};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The section's actions and data. Made by the page itself, in its own body
/// (see [`TokensSection`]).
#[derive(Clone, Copy)]
pub struct Tokens {
    create: ServerAction<CreateToken>,
    revoke: ServerAction<RevokeToken>,
    tokens: crate::data::Data<Result<TokensView, AppError>>,
}

impl Tokens {
    pub fn load() -> Self {
        let create = ServerAction::<CreateToken>::new();
        let revoke = ServerAction::<RevokeToken>::new();
        let query = leptos_router::hooks::use_query_map();
        let new_token = move || query.read().get("new_token");
        let tokens = crate::data::load(new_token, list_tokens);
        Tokens {
            create,
            revoke,
            tokens,
        }
    }
}

/// The caller's access tokens. Its data comes from [`Tokens::load`], called
/// in the page's body: a resource made in a component that ends up inside a
/// `Suspense` (whose view a server render may build twice) would run a
/// second, discarded fetch.
#[component]
pub fn TokensSection(data: Tokens) -> impl IntoView {
    let Tokens {
        create,
        revoke,
        tokens,
    } = data;
    let location = leptos_router::hooks::use_location();
    let error = action_error(create);
    let revoke_error = action_error(revoke);
    view! {
        <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Access tokens"</h2>
            <p class="hint">"Use a token as the password for docker, podman, helm or oras, with your email as the user name."</p>
            <ActionForm action=create attr:class="form form-row" attr:aria-label="Create a token">
                <FormError error/>
                // An attribute (not a property): the server-rendered form,
                // posted without JavaScript, must carry it too.
                <input type="hidden" name="return_to" value=move || location.pathname.get()/>
                <InputField id="token-label" label="Label" name="label" error required=true maxlength="100"
                    placeholder="e.g. CI pipeline"/>
                <Field id="token-expiry" label="Expires" name="expires_in_days" error>
                    <select id="token-expiry" name="expires_in_days" aria-describedby="expires_in_days-error">
                        <option value="30">"In 30 days"</option>
                        <option value="90">"In 90 days"</option>
                        <option value="365">"In a year"</option>
                        <option value="">"Never"</option>
                    </select>
                </Field>
                <button type="submit" class="btn btn-primary">"Create token"</button>
            </ActionForm>
            <FormError error=revoke_error/>
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(view) if view.tokens.is_empty() => view! { <p class="hint empty-row">"No tokens yet."</p> }.into_any(),
                        Ok(view) => view! {
                            // Just created (the form post's redirect carries its key): shown this once.
                            {view.fresh.map(|c| view! { <NewToken created=c/> })}
                            <DataTable label="Your access tokens" columns=vec!["Label", "Created", "Expires", "Last used", ""]>
                                        {view.tokens.into_iter().map(|t| {
                                            let now = chrono::Utc::now();
                                            let expires = match t.expires_at {
                                                None => "Never".to_owned(),
                                                Some(e) if e <= now => format!("Expired {}", e.format("%Y-%m-%d")),
                                                Some(e) => e.format("%Y-%m-%d").to_string(),
                                            };
                                            view! {
                                                <tr>
                                                    <td>{t.label.clone()}</td>
                                                    <td class="muted">{t.created_at.format("%Y-%m-%d").to_string()}</td>
                                                    <td>{expires}</td>
                                                    <td class="muted">{t.last_used_at.map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "Never".into())}</td>
                                                    <td class="actions">
                                                        <ActionForm action=revoke attr:class="inline-form">
                                                            <input type="hidden" name="token_id" value=t.id.to_string()/>
                                                            <button type="submit" class="btn btn-small btn-danger"
                                                                aria-label=format!("Revoke {}", t.label)>"Revoke"</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </DataTable>
                        }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A token just created: the secret, once, with a copy button.
#[component]
fn NewToken(created: crate::server_fns::CreatedToken) -> impl IntoView {
    view! {
        <div class="notice secret" role="status">
            <p><strong>{format!("Token \u{201c}{}\u{201d} created.", created.token.label)}</strong>" Copy it now: it will not be shown again."</p>
            <div class="command-row">
                <pre><code data-testid="new-token">{created.secret.clone()}</code></pre>
                <CopyButton text=created.secret/>
            </div>
        </div>
    }
}
