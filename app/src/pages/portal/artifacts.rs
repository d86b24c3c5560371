//! `/portal`: the artifacts the customer may pull (SPEC §5), with the tags
//! they may pull; refetched live when the vendor changes what the customer
//! may see.

use super::tags::{artifact_href, TagTable};
use crate::components::{EmptyState, Loaded, PageTitle, SearchForm};
use crate::live::LiveRefresh;
use crate::server_fns::{portal_artifacts, PortalView, SharedArtifact};
use domain::registry::TagInfo;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// How many tags a card shows before "Show N more tags".
const CARD_TAGS: usize = 5;

#[component]
pub fn PortalHome() -> impl IntoView {
    let data = crate::data::load(|| (), |_| portal_artifacts());
    let query = use_query_map();
    // Filtered by ?q= (a plain GET form that, with JavaScript, submits
    // itself as you type).
    let typed = query.read_untracked().get("q").unwrap_or_default();
    view! {
        <PageTitle title="Artifacts"/>
        <LiveRefresh/>
        <Loaded data ready=move |view| view! { <ArtifactList view typed=typed.clone()/> }/>
    }
}

/// Whether the artifact matches the search `filter` (lowercase, trimmed).
fn matches(a: &SharedArtifact, filter: &str) -> bool {
    filter.is_empty()
        || a.artifact.name.to_lowercase().contains(filter)
        || a.artifact
            .description
            .as_deref()
            .is_some_and(|d| d.to_lowercase().contains(filter))
}

#[component]
fn ArtifactList(view: PortalView, typed: String) -> impl IntoView {
    let PortalView {
        artifacts,
        vendor,
        notices,
    } = view;
    let banner = (!notices.is_empty()).then(|| {
        view! {
            <section class="notice" role="note" aria-label="Access ending soon">
                {notices
                    .iter()
                    .map(|n| view! { <p>{n.sentence(&vendor)}</p> })
                    .collect_view()}
            </section>
        }
    });
    if artifacts.is_empty() {
        return view! {
            <header class="page-header">
                <h1>"Artifacts"</h1>
            </header>
            {banner}
            <EmptyState title="Nothing to pull yet">
                <p>{format!("{vendor} has not shared any artifacts with you yet. If you expected to see something here, ask your contact at {vendor} to grant you access; it appears here as soon as they do.")}</p>
            </EmptyState>
        }
        .into_any();
    }
    let filter = typed.trim().to_lowercase();
    let rows: Vec<SharedArtifact> = artifacts
        .into_iter()
        .filter(|a| matches(a, &filter))
        .collect();
    let none = rows.is_empty();
    view! {
        <header class="page-header">
            <h1>"Artifacts"</h1>
            <SearchForm name="Search artifacts" id="artifact-search" value=typed as_you_type=true/>
        </header>
        {banner}
        <p class="hint list-hint">{format!("What {vendor} shares with you, with the tags you may pull, newest first.")}</p>
        <div class="artifact-list">
            {rows.into_iter().map(|a| view! { <ArtifactCard item=a/> }).collect_view()}
        </div>
        {none.then(|| view! { <p class="hint empty-row">"No artifact matches this search."</p> })}
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
    // An id keeps the card (its opened "more tags") with its artifact when
    // a live update reorders the list.
    let card_id = format!("{heading_id}-card");
    let footer_href = href.clone();
    let footer = format!("Pull instructions for {name}");
    view! {
        <article class="card artifact-card" id=card_id aria-labelledby=labelled_by>
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
