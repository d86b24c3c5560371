//! `/portal/artifacts/*name?tag=`: one artifact, a tag chooser and the pull
//! commands of SPEC §5 for the chosen tag; refetched live when the vendor
//! changes what the customer may see.

use super::tags::{platforms, pushed, TagTable};
use crate::components::{
    human_size, loading, short_digest, Command, EmptyState, LoadFailed, PageTitle,
};
use crate::live::LiveRefresh;
use crate::server_fns::{portal_artifact, pull_commands, ArtifactView, PortalArtifactView};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn PortalArtifactPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let data = crate::data::load(name, portal_artifact);
    view! {
        <PageTitle title="Artifact"/>
        <LiveRefresh/>
        <nav aria-label="Breadcrumb" class="breadcrumb"><a href="/portal">"Artifacts"</a>" / "</nav>
        <Transition fallback=loading>
            {move || {
                let tag = query.read().get("tag");
                Suspend::new(async move {
                    match data.await {
                        Ok(view) => view! { <ArtifactDetail view tag/> }.into_any(),
                        // Missing and not visible are the same answer.
                        Err(error) => view! {
                            <LoadFailed error missing="Artifact not found">
                                <p>"There is no artifact with this name among those shared with you."</p>
                                <p><a href="/portal">"See all artifacts"</a></p>
                            </LoadFailed>
                        }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn ArtifactDetail(view: PortalArtifactView, tag: Option<String>) -> impl IntoView {
    let PortalArtifactView {
        shown:
            ArtifactView {
                artifact,
                tags,
                registry_host,
                org_slug,
            },
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
