//! `/artifacts`: the org's artifacts, and how to push one.

use crate::components::{Command, ConsoleShell, DataTable, EmptyState, ErrorPanel};
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
    let data = Resource::new(|| (), |_| list_artifacts());
    let query = use_query_map();
    // Filter as you type (hydrated) or by ?q= (plain form).
    let typed = RwSignal::new(None::<String>);
    let filter = move || {
        typed
            .get()
            .unwrap_or_else(|| query.read().get("q").unwrap_or_default())
            .to_lowercase()
    };
    view! {
        <ConsoleShell title="Artifacts">
            <header class="page-header">
                <h1>"Artifacts"</h1>
                <form method="get" role="search" class="search" aria-label="Search artifacts">
                    <label class="visually-hidden" for="artifact-search">"Search artifacts"</label>
                    <input id="artifact-search" type="search" name="q" placeholder="Search artifacts"
                        prop:value=move || query.read().get("q").unwrap_or_default()
                        on:input=move |ev| typed.set(Some(event_target_value(&ev)))/>
                </form>
            </header>
            <Transition fallback=|| view! { <div class="loading" role="status">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(view) => view! { <ArtifactList view filter=Signal::derive(filter)/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
        </ConsoleShell>
    }
}

#[component]
fn ArtifactList(view: ArtifactsView, filter: Signal<String>) -> impl IntoView {
    let ArtifactsView {
        artifacts,
        registry_host,
        org_slug,
        email,
        can_push,
    } = view;
    if artifacts.is_empty() {
        return view! {
            <EmptyState title="No artifacts yet">
                <p>"Container images, Helm charts and other OCI artifacts you push appear here with their tags."</p>
            </EmptyState>
            {can_push.then(|| view! { <PushInstructions host=registry_host.clone() slug=org_slug.clone() email=email.clone()/> })}
        }
        .into_any();
    }
    let all = StoredValue::new(artifacts);
    let rows = move || {
        let f = filter.get();
        all.with_value(|list| {
            list.iter()
                .filter(|a| f.is_empty() || a.name.to_lowercase().contains(&f))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="card">
            <DataTable columns=vec!["Name", "Kind", "Tags", "Last push"]>
                        <For each=rows key=|a| a.name.clone() let:a>
                            <tr>
                                <td><A href=format!("/artifacts/{}", a.name)>{a.name.clone()}</A></td>
                                <td><span class=format!("kind kind-{}", a.kind.as_str())>{a.kind.label()}</span></td>
                                <td>{a.tag_count}</td>
                                <td class="muted">{a.last_push.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()}</td>
                            </tr>
                        </For>
                    </DataTable>
            <Show when=move || rows().is_empty()>
                <p class="hint empty-row">"No artifact matches this search."</p>
            </Show>
        </section>
        {can_push.then(|| view! { <PushInstructions host=registry_host.clone() slug=org_slug.clone() email=email.clone()/> })}
    }
    .into_any()
}
