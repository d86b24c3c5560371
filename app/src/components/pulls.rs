//! The Pulls card of a customer's page and of an artifact's page: the
//! latest pulls (SPEC §6), and a link to the whole log as CSV.

use crate::components::{short_digest, DataTable, ErrorPanel};
use crate::server_fns::AppError;
use domain::pulls::{Pull, PAGE_PULLS};
use domain::CustomerId;
use leptos::prelude::*;

/// Whose pulls a card lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullsOf {
    Customer(CustomerId),
    /// An artifact name without the org slug.
    Artifact(String),
}

impl PullsOf {
    /// The CSV export of the same pulls (`GET /api/v1/pulls`; the session
    /// cookie authenticates it).
    pub fn csv_href(&self) -> String {
        match self {
            PullsOf::Customer(id) => format!("/api/v1/pulls?customer={id}&format=csv"),
            PullsOf::Artifact(name) => {
                format!("/api/v1/pulls?artifact={}&format=csv", query_value(name))
            }
        }
    }
}

/// Percent-encodes what may not stand in a query value as is.
fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The latest pulls, newest first: on a customer's page with the artifact,
/// on an artifact's page with the customer.
#[component]
pub fn PullsCard(of: PullsOf, pulls: Result<Vec<Pull>, AppError>) -> impl IntoView {
    let by_customer = matches!(of, PullsOf::Customer(_));
    let body = match pulls {
        Err(error) => view! { <ErrorPanel error/> }.into_any(),
        Ok(pulls) if pulls.is_empty() => view! {
            <p class="hint empty-row">"No pulls yet."</p>
        }
        .into_any(),
        Ok(pulls) => {
            let rows = pulls
                .into_iter()
                .map(|p| {
                    let who = if by_customer {
                        p.artifact.clone()
                    } else {
                        p.customer_label()
                    };
                    view! {
                        <tr>
                            <td class="muted"><time datetime=p.at.to_rfc3339()>{p.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</time></td>
                            <td>{who}</td>
                            <td>{p.user_email.clone()}</td>
                            <td>{match p.tag.clone() {
                                Some(tag) => view! { <strong>{tag}</strong> }.into_any(),
                                None => view! { <span class="muted">"by digest"</span> }.into_any(),
                            }}</td>
                            <td class="digest"><code title=p.digest.clone()>{short_digest(&p.digest)}</code></td>
                            <td>{p.address.clone()}</td>
                            <td class="num">{p.count}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <DataTable label="Pulls" columns=vec!["Time", if by_customer { "Artifact" } else { "Customer" }, "User", "Tag", "Digest", "Address", "Pulls"]>{rows}</DataTable>
            }
            .into_any()
        }
    };
    view! {
        <section class="card" aria-labelledby="pulls-heading">
            <div class="card-header">
                <h2 id="pulls-heading">"Pulls"</h2>
                // A file download, not a page: the router must not take it.
                <a class="btn btn-small" href=of.csv_href() download="" rel="external">"Download CSV"</a>
            </div>
            <p class="hint">{format!("The latest {PAGE_PULLS} rows of manifest pulls by customer users, newest first; identical pulls (same user, tag, digest and address) within one second share a row. The CSV has the whole log (up to 100 000 rows).")}</p>
            {body}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_links() {
        assert_eq!(
            PullsOf::Customer(CustomerId::from(7)).csv_href(),
            "/api/v1/pulls?customer=7&format=csv"
        );
        assert_eq!(
            PullsOf::Artifact("charts/web a&b".into()).csv_href(),
            "/api/v1/pulls?artifact=charts/web%20a%26b&format=csv"
        );
    }
}
