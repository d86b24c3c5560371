//! `/artifacts/*name`: an artifact's tags, pull command and pulls.

use crate::components::pulls::{PullsCard, PullsOf};
use crate::components::{
    human_size, loading, short_digest, Command, CopyButton, DataTable, LoadFailed, PageTitle,
};
use crate::server_fns::{artifact_pulls, artifact_upstream, get_artifact, helm_pull, pull_with};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ArtifactPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let data = crate::data::load(name, get_artifact);
    let pulls = crate::data::load(name, artifact_pulls);
    let mirror = crate::data::load(name, artifact_upstream);
    view! {
        <PageTitle title="Artifact"/>
        <crate::live::LiveRefresh/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let pulls = pulls.await;
                let mirror = mirror.await.ok();
                match data.await {
                    Ok(v) => {
                        let repo = format!("{}/{}/{}", v.registry_host, v.org_slug, v.artifact.name);
                        let first_tag = v.tags.first().map(|t| t.tag.clone()).unwrap_or_else(|| "latest".into());
                        let pull = match v.artifact.kind {
                            domain::registry::ArtifactKind::HelmChart => helm_pull(&repo, &first_tag),
                            domain::registry::ArtifactKind::ContainerImage => pull_with("docker", &repo, &first_tag),
                            domain::registry::ArtifactKind::Other => pull_with("oras", &repo, &first_tag),
                        };
                        view! {
                            <nav aria-label="Breadcrumb" class="breadcrumb"><A href="/artifacts">"Artifacts"</A>" / "</nav>
                            <header class="page-header">
                                <h1>{v.artifact.name.clone()}</h1>
                                <span class=format!("kind kind-{}", v.artifact.kind.as_str())>{v.artifact.kind.label()}</span>
                            </header>
                            <section class="card" aria-labelledby="tags-heading">
                                <h2 id="tags-heading">"Tags"</h2>
                                <DataTable label="Tags" columns=vec!["Tag", "Digest", "Size", "Platforms", "Pushed"]>
                                            {v.tags.into_iter().map(|t| view! {
                                                <tr>
                                                    <td><strong>{t.tag.clone()}</strong></td>
                                                    <td class="digest">
                                                        <code title=t.digest.clone()>{short_digest(&t.digest)}</code>
                                                        <CopyButton text=t.digest.clone() label="Copy digest"/>
                                                    </td>
                                                    <td>{human_size(t.size)}</td>
                                                    <td>{if t.platforms.is_empty() { "—".to_owned() } else { t.platforms.join(", ") }}</td>
                                                    <td class="muted">{t.pushed_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </DataTable>
                            </section>
                            <section class="card" aria-labelledby="use-heading">
                                <h2 id="use-heading">"Use it"</h2>
                                <Command label="Pull" command=pull/>
                                <Command label="Push a new tag" command=format!("docker push {repo}:<tag>")/>
                            </section>
                            {mirror.map(|info| view! { <super::upstreams::ArtifactUpstreamCard artifact=v.artifact.name.clone() info/> })}
                            <PullsCard of=PullsOf::Artifact(v.artifact.name.clone()) pulls/>
                        }
                            .into_any()
                    }
                    Err(error) => view! {
                        <LoadFailed error missing="Artifact not found" back=Some(("/artifacts", "Artifacts"))>
                            <p>"There is no artifact with this name in your organization."</p>
                        </LoadFailed>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}
