//! `/portal`: the artifacts the customer may pull (SPEC §5), with the tags
//! they may pull; refetched live when the vendor changes what the customer
//! may see.

use super::tags::{artifact_href, TagTable};
use crate::components::{EmptyState, Loaded, PageTitle, SearchForm};
use crate::live::use_changes;
use crate::server_fns::{portal_artifacts, PortalView, SharedArtifact};
use domain::registry::TagInfo;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// How many tags a card shows before "Show N more tags".
const CARD_TAGS: usize = 5;

#[component]
pub fn PortalHome() -> impl IntoView {
    let changes = use_changes();
    let data = crate::data::load(move || changes.get(), |_| portal_artifacts());
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
        <PageTitle title="Artifacts"/>
        <Loaded data ready=move |view| view! { <ArtifactList view filter typed/> }/>
    }
}

#[component]
fn ArtifactList(
    view: PortalView,
    filter: Signal<String>,
    typed: RwSignal<Option<String>>,
) -> impl IntoView {
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
            <SearchForm name="Search artifacts" id="artifact-search" value=shown
                on:input=move |ev| typed.set(Some(event_target_value(&ev)))/>
        </header>
        {banner}
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
