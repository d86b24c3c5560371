//! `/artifacts`: the org's artifacts, and how to push one.

use crate::components::{
    Command, DataTable, EmptyState, Loaded, PageAt, PageTitle, Pager, SearchForm,
};
use crate::server_fns::{list_artifacts, login_command, shell_quote, ArtifactsView};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// Push instructions for the org's namespace.
#[component]
fn PushInstructions(host: String, slug: String, email: String) -> impl IntoView {
    let ns = format!("{host}/{slug}");
    // Every value quoted for the shell (the host and email come from settings
    // and accounts).
    let login = login_command("docker", &host, &email);
    let image = shell_quote(&format!("{ns}/web:1.0"));
    let chart = shell_quote(&format!("oci://{ns}"));
    let file = shell_quote(&format!("{ns}/files:1.0"));
    view! {
        <section class="card" aria-labelledby="push-heading">
            <h2 id="push-heading">"Push an artifact"</h2>
            <p class="hint">"Sign in with your email and an access token (create one in Settings), then push to your namespace "<code>{ns.clone()}</code>"."</p>
            <Command label="Log in (Docker)" command=login/>
            <Command label="Tag and push an image (Docker)" command=format!("docker tag web:1.0 {image} && docker push {image}")/>
            <Command label="Push an image (Podman)" command=format!("podman push web:1.0 {image}")/>
            <Command label="Push a Helm chart" command=format!("helm push web-1.0.0.tgz {chart}")/>
            <Command label="Push any file (ORAS)" command=format!("oras push {file} ./notes.txt")/>
        </section>
    }
}

#[component]
pub fn ArtifactsPage() -> impl IntoView {
    let query = use_query_map();
    // The page is the address's: `?q=&after=&limit=`. Without JavaScript the
    // search is a plain GET form and the pages plain links; with it, the
    // form submits itself as you type (the first page of the new search).
    let page = move || {
        let query = query.read();
        (query.get("q"), query.get("after"), query.get("limit"))
    };
    let data = crate::data::load(page, |(q, after, limit)| async move {
        let here = PageAt::new(&q, &after, &limit);
        list_artifacts(q, after, limit)
            .await
            .map(|view| (view, here))
    });
    // The box is not bound to the address: typing is ahead of it.
    let typed = query.read_untracked().get("q").unwrap_or_default();
    view! {
        <PageTitle title="Artifacts"/>
        <header class="page-header">
            <h1>"Artifacts"</h1>
            <SearchForm name="Search artifacts" id="artifact-search" value=typed.clone() as_you_type=true>
                {query.read_untracked().get("limit").map(|limit| view! { <input type="hidden" name="limit" value=limit/> })}
            </SearchForm>
        </header>
        <Loaded data ready=|(view, here)| view! { <ArtifactList view here/> }/>
    }
}

#[component]
fn ArtifactList(view: ArtifactsView, here: PageAt) -> impl IntoView {
    let ArtifactsView {
        artifacts,
        next,
        registry_host,
        org_slug,
        email,
        can_push,
    } = view;
    let searching = !here.q.is_empty();
    let first = here.after.is_some().then(|| here.first("/artifacts"));
    let next = next.map(|after| here.next("/artifacts", &after));
    if artifacts.is_empty() && !searching && first.is_none() {
        return view! {
            <EmptyState title="No artifacts yet">
                <p>"Container images, Helm charts and other OCI artifacts you push appear here with their tags."</p>
            </EmptyState>
            {can_push.then(|| view! { <MirrorLink/> })}
            {can_push.then(|| view! { <PushInstructions host=registry_host.clone() slug=org_slug.clone() email=email.clone()/> })}
        }
        .into_any();
    }
    let empty = artifacts.is_empty();
    view! {
        <section class="card">
            <DataTable columns=vec!["Name", "Kind", "Tags", "Last push"]>
                {artifacts.into_iter().map(|a| view! {
                    <tr>
                        <td><A href=format!("/artifacts/{}", a.name)>{a.name.clone()}</A></td>
                        <td><span class=format!("kind kind-{}", a.kind.as_str())>{a.kind.label()}</span></td>
                        <td>{a.tag_count}</td>
                        <td class="muted">{a.last_push.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </DataTable>
            {empty.then(|| view! {
                <p class="hint empty-row">{if searching { "No artifact matches this search." } else { "No more artifacts." }}</p>
            })}
            <Pager label="Artifact pages" first next/>
        </section>
        {can_push.then(|| view! { <MirrorLink/> })}
        {can_push.then(|| view! { <PushInstructions host=registry_host.clone() slug=org_slug.clone() email=email.clone()/> })}
    }
    .into_any()
}

/// "Mirror from a registry" (issue 14).
#[component]
fn MirrorLink() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="mirror-heading">
            <h2 id="mirror-heading">"Mirror from a registry"</h2>
            <p class="hint">"Already pushing to GHCR, Harbor, ECR or another registry from CI? Portcullis can copy from there, at once and then on an interval."</p>
            <A href="/upstreams/new" attr:class="btn">"Mirror from a registry"</A>
        </section>
    }
}
