//! Building blocks shared by the pages.

pub mod form;
pub mod pulls;
pub mod tokens;

pub use form::{Field, InputField, SearchForm, SubmitButton};

use crate::server_fns::{get_me, AppError, SignOut};
use domain::Principal;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, Redirect, A};

/// The latest error of a server action, as a signal.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// The message next to a form field, when the last submission was refused
/// because of it. Its id is `<field>-error` for `aria-describedby`.
#[component]
pub fn FieldError(error: Signal<Option<AppError>>, field: &'static str) -> impl IntoView {
    move || {
        error.get().and_then(|e| e.field_message(field)).map(|msg| {
            view! { <p class="field-error" id=format!("{field}-error") role="alert">{msg}</p> }
        })
    }
}

/// The message for a form as a whole (not about one field).
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().and_then(|e| e.form_message()).map(|msg| {
            view! { <div class="form-error" role="alert">{msg}</div> }
        })
    }
}

/// `aria-invalid` for a field.
pub fn invalid(
    error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl Fn() -> &'static str + Send + Sync + Copy {
    move || {
        if error.get().and_then(|e| e.field_message(field)).is_some() {
            "true"
        } else {
            "false"
        }
    }
}

/// An empty state: what is not here yet and what to do about it.
#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <section class="empty-state" aria-label=title>
            <div class="empty-icon" aria-hidden="true">"◇"</div>
            <h2>{title}</h2>
            {children()}
        </section>
    }
}

/// The frames' sign-out button.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=sign_out attr:class="signout-form">
            <button type="submit" class="btn btn-quiet">"Sign out"</button>
        </ActionForm>
    }
}

/// The page address's parameter `name` (`/licenses/:id`) as a `T`, such
/// as an id; `None` when it is absent or not one.
pub fn route_param<T: std::str::FromStr>(
    name: &'static str,
) -> impl Fn() -> Option<T> + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || params.read().get(name).and_then(|v| v.parse().ok())
}

/// A component's own class and those its caller adds (if any).
fn classes(own: &str, extra: &str) -> String {
    if extra.is_empty() {
        own.to_owned()
    } else {
        format!("{own} {extra}")
    }
}

/// The page address's query parameter `name` (`?next=`), empty when it is
/// absent.
pub fn query_value(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = leptos_router::hooks::use_query_map();
    move || query.read().get(name).unwrap_or_default()
}

/// What a page shows while its data loads.
pub fn loading() -> impl IntoView {
    view! { <div class="loading" role="status">"Loading…"</div> }
}

/// What a page shows when its data did not load: the error. A page's data
/// refused for its address's parameters (no form field to
/// show them next to) says each parameter's message.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let text = match &error {
        AppError::Invalid { fields, .. } if !fields.is_empty() => {
            fields.values().cloned().collect::<Vec<_>>().join(" ")
        }
        other => other.to_string(),
    };
    view! {
        <div class="form-error" role="alert">{text}</div>
    }
}

/// The logo and a name beside it (Portcullis, or in the portal the
/// vendor's), `big` on the sign-in pages; then the children.
#[component]
fn Brand(
    #[prop(into)] name: String,
    #[prop(optional)] big: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class=if big { "brand big" } else { "brand" }>
            <span class="logo" aria-hidden="true">"▦"</span>
            <span class="brand-name">{name}</span>
            {children.map(|c| c())}
        </div>
    }
}

/// The frame of the pages for someone not signed in (sign-in, set-up,
/// set password): the brand on a card, `wide` for a longer form.
#[component]
pub fn AuthCard(#[prop(optional)] wide: bool, children: Children) -> impl IntoView {
    view! {
        <main class="auth-page">
            <div class=if wide { "auth-card wide" } else { "auth-card" }>
                <Brand name="Portcullis" big=true/>
                {children()}
            </div>
        </main>
    }
}

/// A page's data as it loads: "Loading…" until it is there (what is shown
/// stays while it reloads), then `ready` with it. When it did not load:
/// with `missing`, a thing that is not there is [`LoadFailed`] saying the
/// children; any other error is shown as it is.
#[component]
pub fn Loaded<T, R, V>(
    data: crate::data::Data<Result<T, AppError>>,
    /// The page, from its data.
    ready: R,
    #[prop(optional)] missing: Option<&'static str>,
    #[prop(optional)] back: Option<(&'static str, &'static str)>,
    #[prop(optional)] children: Option<ChildrenFn>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    R: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=loading>
            {move || {
                let (ready, children) = (ready.clone(), children.clone());
                Suspend::new(async move {
                    match (data.await, missing) {
                        (Ok(data), _) => ready(data).into_any(),
                        (Err(error), Some(missing)) => view! {
                            <LoadFailed error missing back>
                                {children.map(|c| c())}
                            </LoadFailed>
                        }
                        .into_any(),
                        (Err(error), None) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// What a page shows when its data did not load: for a thing that is not
/// there (or not the caller's), an empty state titled `missing` that says
/// the children, under a link `back` (address, words) when given, and the
/// page answers 404; for any other error, the error.
#[component]
pub fn LoadFailed(
    error: AppError,
    missing: &'static str,
    #[prop(optional_no_strip)] back: Option<(&'static str, &'static str)>,
    children: Children,
) -> impl IntoView {
    // The page answers 404 as well, whatever the request accepts (a server
    // function sets its status only for calls that are not page loads).
    #[cfg(feature = "ssr")]
    if error == AppError::NotFound {
        crate::ssr::set_status(axum::http::StatusCode::NOT_FOUND);
    }
    match error {
        AppError::NotFound => view! {
            {back.map(|(href, words)| view! {
                <nav aria-label="Breadcrumb" class="breadcrumb"><A href=href>{words}</A></nav>
            })}
            <EmptyState title=missing>{children()}</EmptyState>
        }
        .into_any(),
        error => view! { <ErrorPanel error/> }.into_any(),
    }
}

/// Who is signed in, with the sign-out button (both frames).
#[component]
fn Whoami(email: String, #[prop(into)] role: String) -> impl IntoView {
    view! {
        <div class="whoami">
            <span class="email">{email}</span>
            <span class="role">{role}</span>
            <SignOutButton/>
        </div>
    }
}

/// A frame's answer to someone it is not for: their own home, the sign-in
/// page, or the error (in the frame's bar, above the page).
fn elsewhere(me: Result<Option<Principal>, AppError>) -> AnyView {
    match me {
        Ok(Some(other)) => view! { <Redirect path=other.home_path()/> }.into_any(),
        Ok(None) => view! { <Redirect path="/signin"/> }.into_any(),
        Err(error) => view! { <ErrorPanel error/> }.into_any(),
    }
}

/// A page's title in the browser: "`title` · Portcullis".
#[component]
pub fn PageTitle(title: &'static str) -> impl IntoView {
    view! { <Title text=format!("{title} · Portcullis")/> }
}

/// The vendor console frame, the parent route of every console page
/// ([`crate::routes::ConsoleRoutes`]): sidebar (Artifacts, Licenses,
/// Settings), the organization and the signed-in user, and the page in
/// `<main>`. Anyone but a vendor user is sent where they belong (the
/// server's page guard already did so before rendering).
#[component]
pub fn ConsoleLayout() -> impl IntoView {
    frame("layout", |me| {
        let Principal::Vendor {
            email,
            org_name,
            org_slug,
            role,
            ..
        } = me
        else {
            return None;
        };
        Some(
            view! {
                <aside class="sidebar">
                    <Brand name="Portcullis"/>
                    <div class="org" title=org_slug.clone()>
                        <span class="org-name">{org_name.clone()}</span>
                        <span class="org-slug">{org_slug.clone()}</span>
                    </div>
                    <nav aria-label="Console">
                        <ul class="nav">
                            <li><A href="/artifacts">"Artifacts"</A></li>
                            <li><A href="/licenses">"Licenses"</A></li>
                            <li><A href="/settings">"Settings"</A></li>
                        </ul>
                    </nav>
                    <Whoami email=email.clone() role=role.label()/>
                </aside>
            }
            .into_any(),
        )
    })
}

/// What both frames are (`<div class=layout>`: a skip link, the frame's
/// `bar` once it is known who is signed in, and the child route's page in
/// `<main>`). `bar` is `None` for anyone the frame is not for, who is sent
/// where they belong.
///
/// The page (the `<Outlet/>`) is outside the `Suspense` that waits for the
/// signed-in user: a server render may build a `Suspense`'s view twice, and
/// a page built there would make its resources, and fetch their data,
/// twice.
fn frame<F>(layout: &'static str, bar: F) -> impl IntoView
where
    F: Fn(&Principal) -> Option<AnyView> + Clone + Send + Sync + 'static,
{
    let me = crate::data::load(|| (), |_| get_me());
    view! {
        <div class=layout>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Suspense fallback=loading>
                {move || {
                    let bar = bar.clone();
                    Suspend::new(async move {
                        match me.await {
                            Ok(Some(me)) => bar(&me).unwrap_or_else(|| elsewhere(Ok(Some(me)))),
                            other => elsewhere(other),
                        }
                    })
                }}
            </Suspense>
            <main id="main" class="content"><Outlet/></main>
        </div>
    }
}

/// The portal's sections, for the navigation's `aria-current`.
fn portal_section(path: &str) -> Option<&'static str> {
    if path == "/portal" || path.starts_with("/portal/artifacts/") {
        Some("artifacts")
    } else if path == "/portal/tokens" {
        Some("tokens")
    } else {
        None
    }
}

/// The customer portal frame, the parent route of every portal page
/// ([`crate::routes::PortalRoutes`]): the organization, the sections
/// (Artifacts, Access tokens) and the signed-in user above the page. Anyone
/// but a customer user is sent where they belong.
#[component]
pub fn PortalLayout() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let current = move |section: &'static str| {
        location
            .pathname
            .with(|p| portal_section(p) == Some(section))
            .then_some("page")
    };
    frame("portal", move |me| {
        let Principal::Customer {
            email,
            org_name,
            customer_name,
            ..
        } = me
        else {
            return None;
        };
        Some(
            view! {
                <header class="topbar">
                    <Brand name=org_name.clone()>
                        <span class="badge">"Customer portal"</span>
                    </Brand>
                    <nav aria-label="Portal">
                        <ul class="nav nav-inline">
                            <li><a href="/portal" aria-current=move || current("artifacts")>"Artifacts"</a></li>
                            <li><a href="/portal/tokens" aria-current=move || current("tokens")>"Access tokens"</a></li>
                        </ul>
                    </nav>
                    <Whoami email=email.clone() role=customer_name.clone()/>
                </header>
            }
            .into_any(),
        )
    })
}

/// Where a paged list is: its search, cursor and `limit` as they are in the
/// address (empty when absent). Builds the addresses of its other pages.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageAt {
    pub q: String,
    pub after: Option<String>,
    pub limit: String,
    /// A list's filter switch (the Licenses list's `ending`), kept by its links.
    pub filter: Option<(String, String)>,
}

impl PageAt {
    /// From the address's `q`, `after` and `limit`.
    pub fn new(q: &Option<String>, after: &Option<String>, limit: &Option<String>) -> Self {
        PageAt {
            q: q.clone().unwrap_or_default(),
            after: after.clone().filter(|a| !a.is_empty()),
            limit: limit.clone().unwrap_or_default(),
            filter: None,
        }
    }

    /// The same, with the filter `name=value` kept by the page's links.
    pub fn with_filter(self, name: &'static str, value: &Option<String>) -> Self {
        PageAt {
            filter: value.clone().map(|v| (name.to_owned(), v)),
            ..self
        }
    }

    fn params<'a>(&'a self, after: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
        let mut p = vec![("q", self.q.as_str()), ("limit", self.limit.as_str())];
        if let Some((name, value)) = &self.filter {
            p.push((name.as_str(), value.as_str()));
        }
        if let Some(after) = after {
            p.push(("after", after));
        }
        p
    }

    /// The first page of the same search.
    pub fn first(&self, path: &str) -> String {
        domain::paging::link(path, &self.params(None))
    }

    /// The page after `after` (the cursor of this page's last row).
    pub fn next(&self, path: &str, after: &str) -> String {
        domain::paging::link(path, &self.params(Some(after)))
    }
}

/// The links under a paged list: "First page" once past it, "Next" while
/// another page follows. Plain links: they work without JavaScript, and the
/// router (public/router.js) follows them in place.
#[component]
pub fn Pager(
    /// What the list is, for assistive technology ("Artifacts pages").
    label: &'static str,
    /// The first page's address, when this is not it.
    first: Option<String>,
    /// The next page's address, if there is one.
    next: Option<String>,
) -> impl IntoView {
    (first.is_some() || next.is_some()).then(|| {
        view! {
            <nav class="pager" aria-label=label>
                {first.map(|href| view! { <A href=href attr:class="btn btn-small">"First page"</A> })}
                {next.map(|href| view! { <A href=href attr:class="btn btn-small" attr:rel="next">"Next"</A> })}
            </nav>
        }
    })
}

/// A table of rows under column headings, in its scrolling wrapper: every
/// list of the console and the portal. An empty heading is an actions
/// column, named for screen readers only.
#[component]
pub fn DataTable(
    /// Names the table for assistive technology.
    #[prop(optional, into)]
    label: Option<String>,
    /// Classes beside `table`.
    #[prop(optional)]
    class: &'static str,
    columns: Vec<&'static str>,
    children: Children,
) -> impl IntoView {
    let class = classes("table", class);
    let headings = columns
        .into_iter()
        .map(|c| match c {
            "" => view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> }
                .into_any(),
            c => view! { <th scope="col">{c}</th> }.into_any(),
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class=class aria-label=label>
                <thead><tr>{headings}</tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// A button that copies `text` to the clipboard (an island: with
/// JavaScript; without it, the text next to it is selectable).
#[island]
pub fn CopyButton(
    #[prop(into)] text: String,
    #[prop(into, optional)] label: Option<String>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let label = label.unwrap_or_else(|| "Copy".into());
    let aria = format!("{label}: {text}");
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&text);
                copied.set(true);
                set_timeout(
                    move || copied.set(false),
                    std::time::Duration::from_millis(1500),
                );
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" class="btn btn-small copy" aria-label=aria on:click=on_click>
            {move || if copied.get() { "Copied ✓".to_owned() } else { label.clone() }}
        </button>
    }
}

/// A shell command with a copy button.
#[component]
pub fn Command(#[prop(into)] label: String, #[prop(into)] command: String) -> impl IntoView {
    view! {
        <div class="command">
            <span class="command-label">{label}</span>
            <div class="command-row">
                <pre><code>{command.clone()}</code></pre>
                <CopyButton text=command/>
            </div>
        </div>
    }
}

/// `1.5 MB` style sizes.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes.max(0) as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A short form of a digest for tables (`sha256:1a2b3c4d5e6f`).
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", &hex[..hex.len().min(12)]),
        None => digest.to_owned(),
    }
}

/// Goes to `url` in place: public/router.js renders it and patches the
/// document, as it does for a followed link (it takes the
/// `portcullis:visit` event); without it, the browser loads the page.
pub fn go_to(url: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let init = web_sys::CustomEventInit::new();
        init.set_cancelable(true);
        init.set_detail(&wasm_bindgen::JsValue::from_str(url));
        let taken = web_sys::CustomEvent::new_with_event_init_dict("portcullis:visit", &init)
            .ok()
            .and_then(|ev| w.dispatch_event(&ev).ok())
            // `false`: cancelled, that is taken by the router.
            .is_some_and(|not_cancelled| !not_cancelled);
        if !taken {
            let _ = w.location().set_href(url);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_digests() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(portal_section("/portal"), Some("artifacts"));
        assert_eq!(
            portal_section("/portal/artifacts/charts/web"),
            Some("artifacts")
        );
        assert_eq!(portal_section("/portal/tokens"), Some("tokens"));
        assert_eq!(portal_section("/portal/tokensx"), None);
        assert_eq!(human_size(1_500_000), "1.5 MB");
        assert_eq!(
            short_digest("sha256:0123456789abcdef"),
            "sha256:0123456789ab"
        );
    }
}
