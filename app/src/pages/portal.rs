//! The customer portal (SPEC §5): the artifacts the customer may pull, an
//! artifact's pull instructions, and access tokens. The artifact pages
//! refetch live when the vendor changes what the customer may see.

use crate::api::{
    portal_artifact, portal_artifacts, pull_commands, AppError, PortalArtifactView, PortalView,
    SharedArtifact,
};
use crate::components::{human_size, short_digest, Command, EmptyState, ErrorPanel, PortalShell};
use crate::live::use_changes;
use crate::pages::tokens::{Tokens, TokensSection};
use domain::registry::TagInfo;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// How many tags a card shows before "Show N more tags".
const CARD_TAGS: usize = 5;

fn loading() -> impl IntoView {
    view! { <div class="loading" role="status">"Loading…"</div> }
}

/// The address of an artifact's page, optionally for one tag.
fn artifact_href(name: &str, tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("/portal/artifacts/{name}?tag={}", query_escape(t)),
        None => format!("/portal/artifacts/{name}"),
    }
}

/// Tags are `[A-Za-z0-9_.-]`; escape anything else anyway.
fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn platforms(t: &TagInfo) -> String {
    if t.platforms.is_empty() {
        "—".to_owned()
    } else {
        t.platforms.join(", ")
    }
}

fn pushed(t: &TagInfo) -> String {
    t.pushed_at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[component]
pub fn PortalHome() -> impl IntoView {
    let changes = use_changes();
    let data = Resource::new(move || changes.get(), |_| portal_artifacts());
    let query = use_query_map();
    // Filter as you type (hydrated) or by ?q= (plain GET form).
    let typed = RwSignal::new(None::<String>);
    let filter = Signal::derive(move || {
        typed
            .get()
            .unwrap_or_else(|| query.read().get("q").unwrap_or_default())
            .trim()
            .to_lowercase()
    });
    view! {
        <PortalShell title="Artifacts">
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(view) => view! { <ArtifactList view filter typed/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
        </PortalShell>
    }
}

#[component]
fn ArtifactList(
    view: PortalView,
    filter: Signal<String>,
    typed: RwSignal<Option<String>>,
) -> impl IntoView {
    let PortalView { artifacts, vendor } = view;
    if artifacts.is_empty() {
        return view! {
            <header class="page-header">
                <h1>"Artifacts"</h1>
            </header>
            <EmptyState title="Nothing to pull yet">
                <p>{format!("{vendor} has not shared any artifacts with you yet. If you expected to see something here, ask your contact at {vendor} to grant you access; it appears here as soon as they do.")}</p>
            </EmptyState>
        }
        .into_any();
    }
    let all = StoredValue::new(artifacts);
    let rows = move || {
        let f = filter.get();
        all.with_value(|list| {
            list.iter()
                .filter(|a| {
                    f.is_empty()
                        || a.artifact.name.to_lowercase().contains(&f)
                        || a.artifact
                            .description
                            .as_deref()
                            .is_some_and(|d| d.to_lowercase().contains(&f))
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let shown = filter.get_untracked();
    view! {
        <header class="page-header">
            <h1>"Artifacts"</h1>
            <form method="get" role="search" class="search" aria-label="Search artifacts">
                <label class="visually-hidden" for="artifact-search">"Search artifacts"</label>
                <input id="artifact-search" type="search" name="q" placeholder="Search artifacts"
                    value=shown
                    on:input=move |ev| typed.set(Some(event_target_value(&ev)))/>
            </form>
        </header>
        <p class="hint list-hint">{format!("What {vendor} shares with you, with the tags you may pull, newest first.")}</p>
        <div class="artifact-list">
            <For each=rows key=|a| a.artifact.name.clone() let:a>
                <ArtifactCard item=a/>
            </For>
        </div>
        <Show when=move || rows().is_empty()>
            <p class="hint empty-row">"No artifact matches this search."</p>
        </Show>
    }
    .into_any()
}

#[component]
fn ArtifactCard(item: SharedArtifact) -> impl IntoView {
    let SharedArtifact { artifact, tags } = item;
    let name = artifact.name.clone();
    let heading_id = format!("artifact-{}", name.replace(['/', '.', '_'], "-"));
    let href = artifact_href(&name, None);
    let table_label = format!("Tags of {name}");
    let more_label = format!("Older tags of {name}");
    let (first, rest): (Vec<TagInfo>, Vec<TagInfo>) = if tags.len() > CARD_TAGS {
        (tags[..CARD_TAGS].to_vec(), tags[CARD_TAGS..].to_vec())
    } else {
        (tags, vec![])
    };
    let empty = first.is_empty();
    let more = rest.len();
    let card_name = name.clone();
    let labelled_by = heading_id.clone();
    let footer_href = href.clone();
    let footer = format!("Pull instructions for {name}");
    view! {
        <article class="card artifact-card" aria-labelledby=labelled_by>
            <div class="artifact-head">
                <h2 id=heading_id><a href=href>{name}</a></h2>
                <span class=format!("kind kind-{}", artifact.kind.as_str())>{artifact.kind.label()}</span>
            </div>
            {artifact.description.map(|d| view! { <p class="description">{d}</p> })}
            {if empty {
                view! { <p class="hint">"No tags of this artifact are available to you yet."</p> }.into_any()
            } else {
                view! {
                    <TagTable name=card_name.clone() tags=first label=table_label chosen=None/>
                    {(more > 0).then(|| view! {
                        <details class="more-tags">
                            <summary>{format!("Show {more} more tag{}", if more == 1 { "" } else { "s" })}</summary>
                            <TagTable name=card_name.clone() tags=rest label=more_label chosen=None/>
                        </details>
                    })}
                }.into_any()
            }}
            <p class="card-footer"><a href=footer_href>{footer}</a></p>
        </article>
    }
}

/// A table of tags; each tag links to its pull instructions. `chosen` is
/// marked (`aria-current`) on the artifact page.
#[component]
fn TagTable(
    name: String,
    tags: Vec<TagInfo>,
    label: String,
    chosen: Option<String>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table tag-table" aria-label=label>
                <thead>
                    <tr>
                        <th scope="col">"Tag"</th>
                        <th scope="col">"Digest"</th>
                        <th scope="col">"Size"</th>
                        <th scope="col">"Platforms"</th>
                        <th scope="col">"Pushed"</th>
                    </tr>
                </thead>
                <tbody>
                    {tags.into_iter().map(|t| {
                        let current = chosen.as_deref() == Some(t.tag.as_str());
                        view! {
                            <tr class:selected=current>
                                <th scope="row">
                                    <a href=artifact_href(&name, Some(&t.tag))
                                        aria-current=current.then_some("true")
                                        title=format!("Pull instructions for {}", t.tag)>{t.tag.clone()}</a>
                                </th>
                                <td><code title=t.digest.clone()>{short_digest(&t.digest)}</code></td>
                                <td>{human_size(t.size)}</td>
                                <td>{platforms(&t)}</td>
                                <td class="muted">{pushed(&t)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn PortalArtifactPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let changes = use_changes();
    let data = Resource::new(
        move || (name(), changes.get()),
        |(name, _)| portal_artifact(name),
    );
    view! {
        <PortalShell title="Artifact">
            <nav aria-label="Breadcrumb" class="breadcrumb"><a href="/portal">"Artifacts"</a>" / "</nav>
            <Transition fallback=loading>
                {move || {
                    let tag = query.read().get("tag");
                    Suspend::new(async move {
                        match data.await {
                            Ok(view) => view! { <ArtifactDetail view tag/> }.into_any(),
                            // Missing and not visible are the same answer.
                            Err(AppError::NotFound) => view! {
                                <EmptyState title="Artifact not found">
                                    <p>"There is no artifact with this name among those shared with you."</p>
                                    <p><a href="/portal">"See all artifacts"</a></p>
                                </EmptyState>
                            }.into_any(),
                            Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </PortalShell>
    }
}

#[component]
fn ArtifactDetail(view: PortalArtifactView, tag: Option<String>) -> impl IntoView {
    let PortalArtifactView {
        artifact,
        tags,
        registry_host,
        org_slug,
        email,
    } = view;
    let name = artifact.name.clone();
    // The chosen tag if the customer may pull it, else the newest.
    let chosen = tag
        .as_deref()
        .and_then(|t| tags.iter().find(|i| i.tag == t))
        .or_else(|| tags.first())
        .cloned();
    let unavailable = tag.filter(|t| chosen.as_ref().is_none_or(|c| &c.tag != t));
    let header = view! {
        <header class="artifact-header">
            <div class="artifact-head">
                <h1>{name.clone()}</h1>
                <span class=format!("kind kind-{}", artifact.kind.as_str())>{artifact.kind.label()}</span>
            </div>
            {artifact.description.clone().map(|d| view! { <p class="description lead-description">{d}</p> })}
        </header>
    };
    let Some(chosen) = chosen else {
        return view! {
            {header}
            <EmptyState title="No tags available yet">
                <p>"No tag of this artifact is available to you yet. It appears here as soon as the vendor grants you one."</p>
            </EmptyState>
        }
        .into_any();
    };
    let commands = pull_commands(
        artifact.kind,
        &registry_host,
        &org_slug,
        &name,
        &chosen.tag,
        &email,
    );
    let tag_count = tags.len();
    let options = tags.iter().map(|t| t.tag.clone()).collect::<Vec<_>>();
    let chosen_tag = chosen.tag.clone();
    view! {
        {header}
        {unavailable.map(|t| view! {
            <p class="notice notice-info" role="status">{format!("Tag \u{201c}{t}\u{201d} is not available to you; showing the newest tag, {}.", chosen_tag)}</p>
        })}
        <section class="card" aria-labelledby="pull-heading">
            <div class="card-header">
                <h2 id="pull-heading">"Pull "<code>{format!("{name}:{}", chosen.tag)}</code></h2>
                <form method="get" class="inline-form tag-chooser" aria-label="Choose a tag">
                    <label for="tag-choice">"Tag"</label>
                    <select id="tag-choice" name="tag">
                        {options.into_iter().map(|t| {
                            let selected = t == chosen.tag;
                            view! { <option value=t.clone() selected=selected>{t.clone()}</option> }
                        }).collect_view()}
                    </select>
                    <button type="submit" class="btn btn-small">"Show commands"</button>
                </form>
            </div>
            <dl class="facts tag-facts">
                <dt>"Digest"</dt><dd><code title=chosen.digest.clone()>{short_digest(&chosen.digest)}</code></dd>
                <dt>"Size"</dt><dd>{human_size(chosen.size)}</dd>
                <dt>"Platforms"</dt><dd>{platforms(&chosen)}</dd>
                <dt>"Pushed"</dt><dd>{pushed(&chosen)}</dd>
            </dl>
            <p class="hint token-hint">
                "Your user name is your email, "<strong>{email.clone()}</strong>". For "<code>"$TOKEN"</code>
                ", use an access token: create one on the "<a href="/portal/tokens">"Access tokens"</a>" page."
            </p>
            <div class="commands">
                {commands.into_iter().map(|c| view! { <Command label=c.label command=c.command/> }).collect_view()}
            </div>
        </section>
        <section class="card" aria-labelledby="tags-heading">
            <h2 id="tags-heading">{format!("Tags ({tag_count})")}</h2>
            <p class="hint">"The tags you may pull, newest first. Choose one for its commands."</p>
            <TagTable name=name.clone() tags=tags label=format!("Tags of {name}") chosen=Some(chosen.tag.clone())/>
        </section>
    }
    .into_any()
}

#[component]
pub fn PortalTokensPage() -> impl IntoView {
    let tokens = Tokens::load();
    view! {
        <PortalShell title="Access tokens">
            <header class="page-header">
                <h1>"Access tokens"</h1>
            </header>
            <p class="lead">"Registry clients (docker, podman, helm, oras) sign in with your email as the user name and an access token as the password. Create one per machine or pipeline, and revoke it when it is no longer needed."</p>
            <TokensSection data=tokens/>
        </PortalShell>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_a_tag() {
        assert_eq!(
            artifact_href("charts/web", Some("1.0.0+b")),
            "/portal/artifacts/charts/web?tag=1.0.0%2Bb"
        );
        assert_eq!(artifact_href("web", None), "/portal/artifacts/web");
    }
}
