//! The portal's tag tables and links to an artifact's pull instructions,
//! shared by the artifact list and an artifact's page.

use crate::components::{human_size, short_digest, DataTable};
use domain::registry::TagInfo;
use leptos::prelude::*;

/// The address of an artifact's page, optionally for one tag.
pub(super) fn artifact_href(name: &str, tag: Option<&str>) -> String {
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

pub(super) fn platforms(t: &TagInfo) -> String {
    if t.platforms.is_empty() {
        "—".to_owned()
    } else {
        t.platforms.join(", ")
    }
}

pub(super) fn pushed(t: &TagInfo) -> String {
    t.pushed_at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A table of tags; each tag links to its pull instructions. `chosen` is
/// marked (`aria-current`) on the artifact page.
#[component]
pub(super) fn TagTable(
    name: String,
    tags: Vec<TagInfo>,
    label: String,
    chosen: Option<String>,
) -> impl IntoView {
    view! {
        <DataTable label=label class="tag-table" columns=vec!["Tag", "Digest", "Size", "Platforms", "Pushed"]>
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
                </DataTable>
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
