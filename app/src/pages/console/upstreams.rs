//! Mirroring from an upstream registry (issue 14): `/upstreams/new` (the
//! "Mirror from a registry" form) and `/upstreams/:id` (status, Sync now).
//! Plain forms first: without JavaScript the form posts and the status page
//! shows the sync as of the last load (refresh to follow it); with JavaScript, the
//! status follows the sync live (`/events`).

use crate::components::{
    action_error, human_size, query_value, route_param, FormError, InputField, Loaded, PageTitle,
};
use crate::live::LiveRefresh;
use crate::server_fns::{get_upstream, CreateUpstream, DeleteUpstream, SyncUpstream, UpstreamView};
use domain::upstreams::{CredentialsState, TagSelection, Upstream, UpstreamState};
use domain::UpstreamId;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;

/// What the UI says about vendor pushes to a mirrored artifact.
pub const PUSH_NOTE: &str = "You can still push to a mirrored artifact. A sync sets the tags it mirrors to what the upstream has, so a tag you pushed under the same name is replaced; other tags stay (unless deletions are mirrored).";

#[component]
pub fn NewUpstreamPage() -> impl IntoView {
    let create = ServerAction::<CreateUpstream>::new();
    let error = action_error(create);
    let artifact = query_value("artifact");
    view! {
        <PageTitle title="Mirror from a registry"/>
        <nav aria-label="Breadcrumb" class="breadcrumb"><A href="/artifacts">"Artifacts"</A>" / "</nav>
        <header class="page-header"><h1>"Mirror from a registry"</h1></header>
        <section class="card">
            <p class="hint">"Portcullis copies the artifact from the registry your CI already pushes to (GHCR, Harbor, ECR, a distribution server), at once and then on an interval, and serves it to your customers under their entitlements."</p>
            <ActionForm action=create attr:class="form" attr:aria-label="Mirror from a registry">
                <FormError error/>
                <InputField id="upstream-artifact" label="Artifact" name="artifact" error required=true
                    value=Signal::derive(artifact) placeholder="web"
                    hint="The name here, without your organization; created when it does not exist."/>
                <InputField id="upstream-url" label="Registry URL" name="url" error required=true
                    placeholder="https://ghcr.io"/>
                <InputField id="upstream-repository" label="Repository" name="repository" error required=true
                    placeholder="vendor/web"/>
                <InputField id="upstream-username" label="User name (optional)" name="username" error
                    autocomplete="off"/>
                <InputField id="upstream-password" label="Password or token (optional)" name="password" error
                    kind="password" autocomplete="new-password" hint="Stored encrypted and never shown again."/>
                <InputField id="upstream-tags" label="Tags" name="tags" error value="all"
                    hint="\"all\", or tag names separated by commas."/>
                <InputField id="upstream-interval" label="Sync every (minutes)" name="interval_minutes" error
                    kind="number" min="1" value="60"/>
                <label class="check">
                    <input type="checkbox" name="mirror_deletions" value="on"/>
                    "Delete tags here that are deleted upstream"
                </label>
                <p class="hint">{PUSH_NOTE}</p>
                <button type="submit" class="btn btn-primary">"Mirror"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn UpstreamPage() -> impl IntoView {
    let id = route_param::<UpstreamId>("id");
    let sync = ServerAction::<SyncUpstream>::new();
    let remove = ServerAction::<DeleteUpstream>::new();
    let data = crate::data::load_by_id(id, get_upstream);
    view! {
        <PageTitle title="Mirror"/>
        <LiveRefresh/>
        <Loaded data ready=move |view| view! { <UpstreamDetail view sync remove/> }
            missing="Mirror not found" back=("/artifacts", "Artifacts")>
            <p>"There is no such mirror in your organization."</p>
        </Loaded>
    }
}

/// "syncing: 1 of 2 tags, 3.4 MB" and friends.
pub fn state_words(u: &Upstream) -> String {
    match u.state {
        UpstreamState::Syncing => format!(
            "Syncing: {} of {} tags, {} copied",
            u.progress.tags_done,
            u.progress.tags_total,
            human_size(u.progress.bytes)
        ),
        UpstreamState::Failed => "Failed".to_owned(),
        UpstreamState::Idle if u.last_synced_at.is_none() => {
            "Waiting for the first sync".to_owned()
        }
        UpstreamState::Idle => "Up to date".to_owned(),
    }
}

#[component]
fn UpstreamDetail(
    view: UpstreamView,
    sync: ServerAction<SyncUpstream>,
    remove: ServerAction<DeleteUpstream>,
) -> impl IntoView {
    let UpstreamView {
        upstream: u,
        can_write,
    } = view;
    let sync_error = action_error(sync);
    let remove_error = action_error(remove);
    let id = u.id.to_string();
    let id_for_delete = id.clone();
    let artifact = u.artifact.clone();
    let crumb = u.artifact.clone();
    let artifact_href = format!("/artifacts/{}", u.artifact);
    let refresh_href = format!("/upstreams/{}", u.id);
    let state = state_words(&u);
    let tags = match &u.tags {
        TagSelection::All => "All tags".to_owned(),
        TagSelection::List(l) => l.join(", "),
    };
    let synced = if u.tags_synced.is_empty() {
        "—".to_owned()
    } else {
        u.tags_synced.join(", ")
    };
    let credentials = match u.credentials {
        CredentialsState::Set => format!("set (user {})", u.username.clone().unwrap_or_default()),
        CredentialsState::NotSet => "not set".to_owned(),
    };
    view! {
        <nav aria-label="Breadcrumb" class="breadcrumb">
            <A href="/artifacts">"Artifacts"</A>" / "
            <A href=artifact_href>{crumb}</A>" / "
        </nav>
        <header class="page-header">
            <h1>"Mirror of "{artifact}</h1>
            <span class=format!("badge state-{}", u.state.as_str()) data-state=u.state.as_str()>{u.state.as_str()}</span>
        </header>
        <section class="card" aria-labelledby="status-heading">
            <h2 id="status-heading">"Status"</h2>
            <dl class="facts">
                <dt>"State"</dt><dd data-testid="upstream-state">{state}</dd>
                <dt>"Last successful sync"</dt>
                <dd>{u.last_synced_at.map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())}</dd>
                <dt>"Tags copied in the last run"</dt><dd data-testid="tags-synced">{synced}</dd>
                {u.last_error.clone().map(|e| view! { <dt>"Last error"</dt><dd class="field-error" role="alert">{e}</dd> })}
            </dl>
            {can_write.then(|| view! {
                <ActionForm action=sync attr:class="form-row" attr:aria-label="Sync now">
                    <FormError error=sync_error/>
                    <input type="hidden" name="id" value=id.clone()/>
                    <button type="submit" class="btn btn-primary">"Sync now"</button>
                </ActionForm>
            })}
            <p class="hint">
                "The page follows a running sync by itself; without JavaScript, "
                <a href=refresh_href>"refresh"</a>" to see its progress."
            </p>
        </section>
        <section class="card" aria-labelledby="source-heading">
            <h2 id="source-heading">"Source"</h2>
            <dl class="facts">
                <dt>"Registry"</dt><dd><code>{u.url.clone()}</code></dd>
                <dt>"Repository"</dt><dd><code>{u.repository.clone()}</code></dd>
                <dt>"Credentials"</dt><dd data-testid="credentials">{credentials}</dd>
                <dt>"Tags"</dt><dd>{tags}</dd>
                <dt>"Interval"</dt><dd>{format!("every {} minutes", u.interval_minutes)}</dd>
                <dt>"Deletions upstream"</dt><dd>{if u.mirror_deletions { "mirrored" } else { "kept here" }}</dd>
            </dl>
            <p class="hint">{PUSH_NOTE}</p>
        </section>
        {can_write.then(|| view! {
            <details class="card danger-zone" open=move || remove_error.get().is_some()>
                <summary>"Stop mirroring"</summary>
                <p>"The artifact and the tags already copied stay; nothing is synced any more."</p>
                <ActionForm action=remove attr:aria-label="Stop mirroring">
                    <FormError error=remove_error/>
                    <input type="hidden" name="id" value=id_for_delete.clone()/>
                    <button type="submit" class="btn btn-danger">"Stop mirroring"</button>
                </ActionForm>
            </details>
        })}
    }
}

/// The mirror card of an artifact's page.
#[component]
pub fn ArtifactUpstreamCard(
    artifact: String,
    info: crate::server_fns::ArtifactMirror,
) -> impl IntoView {
    match info.upstream {
        Some(u) => view! {
            <section class="card" aria-labelledby="mirror-heading">
                <h2 id="mirror-heading">"Mirrored"</h2>
                <p>"From "<code>{format!("{}/{}", u.url, u.repository)}</code>": "{state_words(&u)}"."</p>
                {u.last_error.clone().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                <p><A href=format!("/upstreams/{}", u.id)>"Mirror status and Sync now"</A></p>
                <p class="hint">{PUSH_NOTE}</p>
            </section>
        }
        .into_any(),
        None if info.can_write => view! {
            <section class="card" aria-labelledby="mirror-heading">
                <h2 id="mirror-heading">"Mirror"</h2>
                <p class="hint">"Copy this artifact from the registry your CI pushes to."</p>
                <A href=format!("/upstreams/new?artifact={artifact}") attr:class="btn">"Mirror from a registry"</A>
            </section>
        }
        .into_any(),
        None => ().into_any(),
    }
}
