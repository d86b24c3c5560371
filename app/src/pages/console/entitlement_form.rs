//! The entitlement form (SPEC §4): create or edit one of a customer's
//! entitlements.
//!
//! The form is an island ([`EntitlementForm`]): with JavaScript the rows
//! live in signals, **+ Add Artifact**, *Remove* and choosing an artifact
//! update the form in place and **Save** calls the server function.
//! Without JavaScript the same buttons are GET submits back to this page
//! that carry what was typed in the query (the page rebuilds the form from
//! it), and Save is a plain form post that comes back here with the
//! messages when something is wrong.

use crate::components::{action_error, FormError, Loaded, PageTitle};
use crate::server_fns::{
    entitlement_form, entitlement_tags, AppError, EntitlementFormData, SaveEntitlement,
};
use domain::entitlements::{EntitlementDraft, RowDraft, RulePreview};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::{use_location, use_params_map};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The tags of the artifacts the form has loaded so far, by artifact name.
type TagLists = RwSignal<HashMap<String, Vec<String>>>;

/// What the no-JavaScript buttons ask for, besides the draft itself.
#[derive(Default, serde::Deserialize)]
struct FormOps {
    add: Option<String>,
    /// `remove_row`, not `remove`: a form's control named `remove` would
    /// hide the form's own `remove()` (named controls are properties of
    /// their form), which the page's scripts may call.
    #[serde(rename = "remove_row")]
    remove: Option<usize>,
}

/// The draft a no-JavaScript button or a refused save left in the page's
/// query, with the button's change applied; `None` when there is none.
fn draft_from_query(search: &str) -> Option<EntitlementDraft> {
    let search = search.trim_start_matches('?');
    if !search
        .split('&')
        .any(|p| p == "name" || p.starts_with("name="))
    {
        return None;
    }
    let config = serde_qs::Config::new(5, false);
    let mut draft: EntitlementDraft = config.deserialize_str(search).ok()?;
    let ops: FormOps = config.deserialize_str(search).unwrap_or_default();
    if let Some(i) = ops.remove.filter(|i| *i < draft.rows.len()) {
        draft.rows.remove(i);
    }
    if ops.add.is_some() {
        draft.rows.push(RowDraft::default());
    }
    Some(draft)
}

/// The id of a field's message, for `aria-describedby`.
fn error_id(field: &str) -> String {
    let id: String = field
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{}-error", id.trim_end_matches('-'))
}

/// The message next to a field whose name is only known at run time.
fn field_message(error: Signal<Option<AppError>>, field: String) -> impl IntoView {
    let id = error_id(&field);
    move || {
        error
            .get()
            .and_then(|e| e.field_message(&field))
            .map(|msg| view! { <p class="field-error" id=id.clone() role="alert">{msg}</p> })
    }
}

fn is_invalid(error: Signal<Option<AppError>>, field: String) -> impl Fn() -> &'static str {
    move || {
        if error.get().and_then(|e| e.field_message(&field)).is_some() {
            "true"
        } else {
            "false"
        }
    }
}

/// One artifact row, as signals.
#[derive(Clone, Copy)]
struct Row {
    key: u64,
    artifact: RwSignal<String>,
    /// `all`, `specific`, `match` or `semver` (see [`RowDraft::mode`]).
    mode: RwSignal<String>,
    tags: RwSignal<Vec<String>>,
    /// The glob or the version range of a rule row.
    pattern: RwSignal<String>,
}

/// The tag choices of a row: (mode, label, hint).
const MODES: [(&str, &str, Option<&str>); 4] = [
    ("all", "All tags and future tags", None),
    ("specific", "Specific tags", None),
    (
        "match",
        "Tags matching a pattern…",
        Some("* stands for any characters, ? for one: *-stable, 1.4.?. Covers future tags that match."),
    ),
    (
        "semver",
        "Version range…",
        Some("Cargo's syntax: >=1.2, <2 or ^1.2. Tags like 1.4.0 or v1.4 count; pre-releases only when the range names one. Covers future versions in range."),
    ),
];

impl Row {
    fn new(key: u64, d: &RowDraft) -> Self {
        let mode = if d.all_tags() { "all" } else { d.mode.as_str() };
        Row {
            key,
            artifact: RwSignal::new(d.artifact.clone()),
            mode: RwSignal::new(mode.to_owned()),
            tags: RwSignal::new(d.tags.clone()),
            pattern: RwSignal::new(d.pattern.clone()),
        }
    }

    fn draft(&self) -> RowDraft {
        RowDraft {
            artifact: self.artifact.get_untracked(),
            mode: self.mode.get_untracked(),
            tags: self.tags.get_untracked(),
            pattern: self.pattern.get_untracked(),
        }
    }
}

#[component]
pub fn EntitlementFormPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let data = crate::data::load(
        move || {
            // The artifacts a draft in the query (no-JavaScript buttons, a
            // refused save) has chosen: their tags come with the form.
            let chosen: Vec<String> = location.search.with(|q| {
                draft_from_query(q)
                    .map(|d| d.rows.into_iter().map(|r| r.artifact).collect())
                    .unwrap_or_default()
            });
            params.with(|p| {
                (
                    p.get("id")
                        .and_then(|i| i.parse::<domain::CustomerId>().ok()),
                    p.get("eid")
                        .map(|e| e.parse::<domain::EntitlementId>().ok()),
                    chosen,
                )
            })
        },
        |(customer, entitlement, chosen)| async move {
            let chosen = (!chosen.is_empty()).then_some(chosen);
            match (customer, entitlement) {
                (Some(c), None) => entitlement_form(c, None, chosen).await,
                (Some(c), Some(Some(e))) => entitlement_form(c, Some(e), chosen).await,
                _ => Err(AppError::NotFound),
            }
        },
    );
    // A refused save without JavaScript comes back with its error in the
    // URL (`__err`), which the server reads here; the island gets it as a
    // prop, since in the browser it has no router to read it from.
    let refused = action_error(ServerAction::<SaveEntitlement>::new());
    view! {
        <PageTitle title="Entitlement"/>
        <Loaded data ready=move |data| {
                let query = location.search.get_untracked();
                let refused = refused.get_untracked();
                view! { <EntitlementFormView data query refused/> }
            }
            missing="Entitlement not found" back=("/licenses", "Licenses")>
            <p>"There is no such customer or entitlement in your organization."</p>
        </Loaded>
    }
}

/// The page around the form: where it is, for whom, and why it may be
/// read-only (rendered on the server only).
#[component]
fn EntitlementFormView(
    data: EntitlementFormData,
    query: String,
    refused: Option<AppError>,
) -> impl IntoView {
    let customer_id = data.customer_id;
    let customer_name = data.customer_name.clone();
    let (can_write, plan_active) = (data.can_write, data.plan_active);
    let title = title(data.entitlement.is_some());
    view! {
        <nav aria-label="Breadcrumb" class="breadcrumb">
            <a href="/licenses">"Licenses"</a>" / "
            <a href=format!("/licenses/{customer_id}")>{customer_name.clone()}</a>" / "
            <a href=format!("/licenses/{customer_id}/entitlements")>"Artifact Entitlements"</a>" / "
        </nav>
        <header class="page-header">
            <h1>{title}</h1>
            <p class="muted">"For "{customer_name}</p>
        </header>
        {(!plan_active).then(|| view! {
            <section class="card plan-note" role="note">
                <h2>"Artifact Entitlements are a Pro feature"</h2>
                <p>"Your organization's plan does not include entitlements right now, so they cannot be created or changed. Ask your Portcullis operator to run "<code>"portcullis admin set-plan --org <slug> --plan pro"</code>"."</p>
            </section>
        })}
        {(!can_write).then(|| view! {
            <p class="hint" role="note">"Your role is read-only: you can look at this entitlement but not change it."</p>
        })}
        <EntitlementForm data query refused/>
    }
}

/// The form's title, which also names it.
fn title(editing: bool) -> &'static str {
    if editing {
        "Edit entitlement"
    } else {
        "Create entitlement"
    }
}

/// The form itself: an island, so its rows, tag lists and previews follow
/// what is chosen without a round trip per change.
#[island]
fn EntitlementForm(
    data: EntitlementFormData,
    query: String,
    /// Why the last save was refused, when it came back as a page.
    refused: Option<AppError>,
) -> impl IntoView {
    let EntitlementFormData {
        customer_id,
        customer_name: _,
        entitlement,
        artifacts,
        tags,
        can_write,
        plan_active,
    } = data;
    let save = ServerAction::<SaveEntitlement>::new();
    let editing = entitlement.as_ref().map(|e| e.id);
    let draft = draft_from_query(&query).unwrap_or_else(|| {
        entitlement
            .as_ref()
            .map(EntitlementDraft::from_view)
            .unwrap_or_else(EntitlementDraft::blank)
    });
    // The latest save's answer, or the refusal the page came with.
    let error = Signal::derive(move || match save.value().get() {
        Some(Err(e)) => Some(e),
        Some(Ok(_)) => None,
        None => refused.clone(),
    });
    // Until the page is hydrated the row buttons are GET submits.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let button_type = move || if hydrated.get() { "button" } else { "submit" };

    let name = RwSignal::new(draft.name);
    let expires = RwSignal::new(draft.expires);
    let keep_released = RwSignal::new(draft.after_expiry == "keep_released");
    let next_key = StoredValue::new(draft.rows.len() as u64);
    let rows = RwSignal::new(
        draft
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| Row::new(i as u64, r))
            .collect::<Vec<_>>(),
    );
    let tags_of: TagLists = RwSignal::new(tags.into_iter().collect());
    let loading = StoredValue::new(HashSet::<String>::new());
    // Hydrated, a row whose artifact has no tag list yet loads it.
    let load_tags = Callback::new(move |artifact: String| {
        let known = tags_of.with_untracked(|t| t.contains_key(&artifact));
        if artifact.is_empty() || known || loading.with_value(|l| l.contains(&artifact)) {
            return;
        }
        loading.update_value(|l| {
            l.insert(artifact.clone());
        });
        leptos::task::spawn_local(async move {
            let tags = entitlement_tags(artifact.clone()).await.unwrap_or_default();
            loading.update_value(|l| {
                l.remove(&artifact);
            });
            tags_of.update(|t| {
                t.insert(artifact, tags);
            });
        });
    });
    let names: Arc<Vec<String>> = Arc::new(artifacts);
    let form_url = match editing {
        Some(id) => format!("/licenses/{customer_id}/entitlements/{id}"),
        None => format!("/licenses/{customer_id}/entitlements/new"),
    };
    let tab_url = format!("/licenses/{customer_id}/entitlements");
    let editable = can_write && plan_active;

    let done_url = tab_url.clone();
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            crate::components::go_to(&done_url);
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveEntitlement {
            customer_id,
            id: editing,
            name: name.get_untracked(),
            expires: Some(expires.get_untracked()),
            after_expiry: Some(
                if keep_released.get_untracked() {
                    "keep_released"
                } else {
                    "revoke"
                }
                .into(),
            ),
            rows: Some(rows.get_untracked().iter().map(Row::draft).collect()),
        });
    };
    let add_row = move |_| {
        if hydrated.get_untracked() {
            let key = next_key.get_value();
            next_key.set_value(key + 1);
            rows.update(|r| r.push(Row::new(key, &RowDraft::default())));
        }
    };
    let remove_row = Callback::new(move |key: u64| rows.update(|r| r.retain(|row| row.key != key)));

    let title = title(editing.is_some());
    let row_form_url = form_url.clone();
    let each_row = move || rows.get().into_iter().enumerate().collect::<Vec<_>>();
    let row_view = move |(index, row): (usize, Row)| {
        view! {
            <GrantRow index row names=names.clone() tags_of load_tags error
                hydrated form_url=row_form_url.clone() on_remove=remove_row/>
        }
    };
    view! {
        <form class="card form entitlement-form" method="post" action=SaveEntitlement::PATH
            novalidate on:submit=on_submit aria-label=title>
            <input type="hidden" name="customer_id" value=customer_id.to_string()/>
            {editing.map(|id| view! { <input type="hidden" name="id" value=id.to_string()/> })}
            <FormError error/>
            <fieldset class="bare" disabled=!editable>
                <div class="field">
                    <label for="ent-name">"Name"</label>
                    <input id="ent-name" name="name" type="text" required autocomplete="off"
                        value=name.get_untracked() prop:value=name
                        on:input=move |ev| name.set(event_target_value(&ev))
                        aria-invalid=is_invalid(error, "name".into()) aria-describedby="name-error"/>
                    {field_message(error, "name".into())}
                </div>
                <div class="field">
                    <label for="ent-expires">"Expiration date "<span class="muted">"(optional)"</span></label>
                    <input id="ent-expires" name="expires" type="date"
                        value=expires.get_untracked() prop:value=expires
                        on:input=move |ev| expires.set(event_target_value(&ev))
                        aria-invalid=is_invalid(error, "expires_at".into())
                        aria-describedby="ent-expires-hint expires-at-error"/>
                    <p class="hint" id="ent-expires-hint">"Access ends at 00:00 UTC on this date. Leave it empty for no expiration."</p>
                    {field_message(error, "expires_at".into())}
                </div>
                <fieldset class="field after-expiry">
                    <legend>"When it expires"</legend>
                    <label class="radio">
                        <input type="radio" name="after_expiry" value="revoke"
                            checked=move || !keep_released.get() prop:checked=move || !keep_released.get()
                            on:change=move |_| keep_released.set(false) aria-describedby="revoke-hint"/>
                        "Access ends"
                    </label>
                    <p class="hint" id="revoke-hint">"The customer can no longer see or pull these artifacts."</p>
                    <label class="radio">
                        <input type="radio" name="after_expiry" value="keep_released"
                            checked=move || keep_released.get() prop:checked=move || keep_released.get()
                            on:change=move |_| keep_released.set(true) aria-describedby="keep-hint"/>
                        "Keep what was released"
                    </label>
                    <p class="hint" id="keep-hint">"The customer keeps pulling what this entitlement covered on the expiration date, but nothing pushed later."</p>
                </fieldset>
                <h2 class="section-title">"Artifacts"</h2>
                {field_message(error, "artifacts".into())}
                <div class="grant-rows">
                    <For each=each_row key=|(i, row)| (*i, row.key) children=row_view/>
                    {move || rows.with(|r| r.is_empty()).then(|| view! {
                        <p class="hint empty-row">"No artifacts yet: add at least one."</p>
                    })}
                </div>
                <button type=button_type formmethod="get" formaction=form_url.clone() formnovalidate
                    name="add" value="1" class="btn" on:click=add_row>"+ Add Artifact"</button>
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                    <a href=tab_url class="btn btn-quiet">"Cancel"</a>
                </div>
            </fieldset>
        </form>
    }
}

#[component]
fn GrantRow(
    index: usize,
    row: Row,
    names: Arc<Vec<String>>,
    tags_of: TagLists,
    load_tags: Callback<String>,
    error: Signal<Option<AppError>>,
    hydrated: RwSignal<bool>,
    form_url: String,
    on_remove: Callback<u64>,
) -> impl IntoView {
    let base = format!("rows[{index}]");
    let artifact_field = format!("artifacts[{index}].artifact");
    let tags_field = format!("artifacts[{index}].tags");
    let select_id = format!("row-{index}-artifact");
    let number = index + 1;
    let tags_name = format!("{base}[tags][]");
    let pattern_id = format!("row-{index}-pattern");
    Effect::new(move |_| load_tags.run(row.artifact.get()));
    let tags_for = move || row.artifact.with(|a| tags_of.with(|t| t.get(a).cloned()));
    let preview = move || {
        let tags = tags_for();
        let mode = row.mode.get();
        if !matches!(mode.as_str(), "match" | "semver") {
            return None;
        }
        let Some(tags) = tags else {
            return row
                .artifact
                .with(|a| a.is_empty())
                .then(|| "Choose an artifact to see which of its tags match.".to_owned());
        };
        let draft = RowDraft {
            mode,
            pattern: row.pattern.get(),
            ..Default::default()
        };
        if draft.pattern.trim().is_empty() {
            return None;
        }
        Some(describe_preview(&RulePreview::of(&draft, &tags)))
    };
    let tag_list = move || match tags_for() {
        None if row.artifact.with(|a| a.is_empty()) => {
            view! { <p class="hint">"Choose an artifact to see its tags."</p> }.into_any()
        }
        None => view! { <p class="hint" role="status">"Loading tags…"</p> }.into_any(),
        Some(tags) if tags.is_empty() => {
            view! { <p class="hint">"This artifact has no tags yet."</p> }.into_any()
        }
        Some(tags) => tags
            .into_iter()
            .map(|tag| {
                let value = tag.clone();
                let on = tag.clone();
                let checked = move || row.tags.with(|t| t.contains(&on));
                let toggle = tag.clone();
                view! {
                    <label class="tag-option">
                        <input type="checkbox" name=tags_name.clone() value=value
                            checked=checked.clone() prop:checked=checked
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                row.tags.update(|t| {
                                    t.retain(|x| *x != toggle);
                                    if on {
                                        t.push(toggle.clone());
                                    }
                                });
                            }/>
                        <code>{tag}</code>
                    </label>
                }
            })
            .collect_view()
            .into_any(),
    };
    view! {
        <fieldset class="grant-row">
            <legend>{format!("Artifact {number}")}</legend>
            <div class="grant-grid">
                <div class="field">
                    <label for=select_id.clone()>"Artifact"</label>
                    <div class="with-button">
                        <select id=select_id name=format!("{base}[artifact]") required
                            aria-invalid=is_invalid(error, artifact_field.clone())
                            aria-describedby=error_id(&artifact_field)
                            on:change=move |ev| {
                                row.artifact.set(event_target_value(&ev));
                                row.tags.set(Vec::new());
                            }>
                            <option value="" selected=move || row.artifact.with(|a| a.is_empty())>"Choose an artifact…"</option>
                            {names.iter().map(|n| {
                                let this = n.clone();
                                view! { <option value=n.clone() selected=move || row.artifact.with(|a| *a == this)>{n.clone()}</option> }
                            }).collect_view()}
                        </select>
                        <button type="submit" formmethod="get" formaction=form_url.clone() formnovalidate
                            class="btn btn-small" hidden=move || hydrated.get()>"Show tags"</button>
                    </div>
                    {field_message(error, artifact_field.clone())}
                </div>
                <fieldset class="tag-choice">
                    <legend>"Tags"</legend>
                    {MODES.iter().map(|(mode, label, _)| {
                        let is = move || row.mode.with(|m| m == mode);
                        view! {
                            <label class="radio">
                                <input type="radio" name=format!("{base}[mode]") value=*mode
                                    checked=is prop:checked=is
                                    on:change=move |_| row.mode.set(mode.to_string())/>
                                {*label}
                            </label>
                        }
                    }).collect_view()}
                    <div class="tag-picker" role="group" aria-label=format!("Tags of artifact {number}")
                        aria-describedby=error_id(&tags_field)>
                        {tag_list}
                    </div>
                    <div class="rule-input">
                        // Which label and hint show follows the checked
                        // radio (CSS), with or without JavaScript.
                        <label for=pattern_id.clone()>
                            <span class="for-match">"Pattern"</span>
                            <span class="for-semver">"Version range"</span>
                        </label>
                        <div class="with-button">
                            <input id=pattern_id.clone() name=format!("{base}[pattern]") type="text"
                                autocomplete="off" spellcheck="false"
                                value=row.pattern.get_untracked() prop:value=row.pattern
                                on:input=move |ev| row.pattern.set(event_target_value(&ev))
                                aria-invalid=is_invalid(error, tags_field.clone())
                                aria-describedby=format!("{pattern_id}-hint {pattern_id}-preview {}", error_id(&tags_field))/>
                            <button type="submit" formmethod="get" formaction=form_url.clone() formnovalidate
                                class="btn btn-small" hidden=move || hydrated.get()>"Preview"</button>
                        </div>
                        <p class="hint" id=format!("{pattern_id}-hint")>
                            <span class="for-match">{MODES[2].2}</span>
                            <span class="for-semver">{MODES[3].2}</span>
                        </p>
                        <p class="rule-preview" id=format!("{pattern_id}-preview") role="status" aria-live="polite">
                            {preview}
                        </p>
                    </div>
                    {field_message(error, tags_field.clone())}
                </fieldset>
                <button type=move || if hydrated.get() { "button" } else { "submit" }
                    formmethod="get" formaction=form_url formnovalidate name="remove_row" value=index.to_string()
                    class="btn btn-small btn-quiet row-remove" aria-label=format!("Remove artifact {number}")
                    on:click=move |_| {
                        if hydrated.get_untracked() {
                            on_remove.run(row.key);
                        }
                    }>"Remove"</button>
            </div>
        </fieldset>
    }
}

/// What a rule's preview says: how many current tags match, which, and
/// how many do not; a rule that matches nothing is allowed but says so.
fn describe_preview(p: &RulePreview) -> String {
    if let Some(e) = &p.error {
        return e.clone();
    }
    let total = p.matched + p.unmatched;
    if p.matched == 0 {
        return format!(
            "Matches none of the {total} current tags yet; tags pushed later that match will be covered."
        );
    }
    let more = if p.matched > p.matching.len() {
        ", …"
    } else {
        ""
    };
    format!(
        "Matches {} of {total} current tags: {}{more}. {} do not match.",
        p.matched,
        p.matching.join(", "),
        p.unmatched
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_carries_the_draft_and_the_button() {
        let q = "customer_id=3&name=Gold+plan&expires=2027-01-31\
            &rows%5B0%5D%5Bartifact%5D=web&rows%5B0%5D%5Bmode%5D=specific\
            &rows%5B0%5D%5Btags%5D%5B%5D=1.0&rows%5B0%5D%5Btags%5D%5B%5D=2.0\
            &rows%5B1%5D%5Bartifact%5D=api&rows%5B1%5D%5Bmode%5D=all&add=1";
        let d = draft_from_query(q).unwrap();
        assert_eq!(d.name, "Gold plan");
        assert_eq!(d.expires, "2027-01-31");
        assert_eq!(d.rows.len(), 3);
        assert_eq!(d.rows[0].tags, ["1.0", "2.0"]);
        assert!(!d.rows[0].all_tags() && d.rows[1].all_tags());
        assert_eq!(d.rows[2], RowDraft::default());

        let d = draft_from_query(&q.replace("add=1", "remove_row=0")).unwrap();
        assert_eq!(d.rows.len(), 1);
        assert_eq!(d.rows[0].artifact, "api");

        assert_eq!(draft_from_query(""), None);
        assert_eq!(draft_from_query("__path=x&__err=y"), None);
        // An empty name is still a draft (the user cleared it).
        assert_eq!(draft_from_query("name=").unwrap().rows.len(), 0);
    }

    #[test]
    fn a_preview_says_what_matches_and_what_does_not() {
        let tags: Vec<String> = ["1.0.0", "1.1.0", "2.0.0"].map(String::from).into();
        let row = |mode: &str, pattern: &str| RowDraft {
            mode: mode.into(),
            pattern: pattern.into(),
            ..Default::default()
        };
        assert_eq!(
            describe_preview(&RulePreview::of(&row("semver", "^1"), &tags)),
            "Matches 2 of 3 current tags: 1.0.0, 1.1.0. 1 do not match."
        );
        assert!(
            describe_preview(&RulePreview::of(&row("match", "*-lts"), &tags))
                .starts_with("Matches none of the 3 current tags yet")
        );
        assert!(
            describe_preview(&RulePreview::of(&row("semver", "=>x"), &tags))
                .contains("not a version range")
        );
        // The query of the no-JavaScript Preview button keeps the rule.
        let d = draft_from_query(
            "name=x&after_expiry=keep_released&rows%5B0%5D%5Bartifact%5D=web\
             &rows%5B0%5D%5Bmode%5D=semver&rows%5B0%5D%5Bpattern%5D=%3E%3D1.2%2C+%3C2",
        )
        .unwrap();
        assert_eq!(d.after_expiry, "keep_released");
        assert_eq!(d.rows[0].pattern, ">=1.2, <2");
        assert!(d.rows[0].is_rule());
    }

    #[test]
    fn error_ids_are_plain() {
        assert_eq!(error_id("name"), "name-error");
        assert_eq!(error_id("artifacts[1].tags"), "artifacts-1--tags-error");
    }
}
