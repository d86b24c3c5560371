//! Paged lists (the console's Artifacts and Licenses pages, `GET
//! /api/v1/artifacts` and `GET /api/v1/customers`): a page is read by a
//! query struct with a cursor (`after`: the sort key of the last item of the
//! previous page) and a `limit`, and answered as a [`Page`] whose `next` is
//! the cursor of the following page, if there is one. Keyset paging: a page
//! costs the same wherever it is in the list, and an item added or removed
//! meanwhile neither repeats nor skips another.

use serde::{Deserialize, Serialize};

/// Items per page when no `limit` is given in the JSON API.
pub const DEFAULT_LIMIT: i64 = 100;
/// Items per page of the console's lists when no `limit` is given.
pub const PAGE_SIZE: i64 = 50;
/// The largest `limit` a request may ask for.
pub const MAX_LIMIT: i64 = 1000;
/// A page of artifacts with their tags (`GET /api/v1/artifacts`) asked for
/// without a `limit` ends early once its artifacts carry this many tags
/// together (it always holds at least one artifact): a small org is one
/// page, as before, and a page of an org with many tags stays small.
pub const DEFAULT_TAGS: i64 = 1_000;
/// The longest cursor (`after`) a request may send.
pub const MAX_CURSOR: usize = 1000;

/// One page of a list and the cursor of the next (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The page from `limit + 1` rows read in order: the extra row only says
    /// that a next page exists, which starts after the page's last item.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(key) } else { None };
        Page { items: rows, next }
    }
}

/// Which customers of an organization to list, ordered by name
/// (case-insensitive, then exactly). New filters are new fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerQuery {
    /// Part of the name, case-insensitive; empty: every customer.
    pub search: String,
    /// Only customers after this one (a customer's name: the cursor).
    pub after: Option<String>,
    pub limit: i64,
    /// Only customers with an entitlement that ends within this many days
    /// from now (not yet ended).
    pub ending_within_days: Option<i64>,
}

/// The Licenses list's "ending soon" filter: entitlements ending within 30 days.
pub const ENDING_SOON_DAYS: i64 = 30;

impl Default for CustomerQuery {
    fn default() -> Self {
        CustomerQuery {
            search: String::new(),
            after: None,
            limit: DEFAULT_LIMIT,
            ending_within_days: None,
        }
    }
}

/// Which artifacts of an organization to list, ordered by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactQuery {
    /// Part of the name, case-insensitive; empty: every artifact.
    pub search: String,
    /// Only artifacts after this name (the cursor).
    pub after: Option<String>,
    pub limit: i64,
    /// Only these names (a customer's granted artifacts); `None`: all.
    pub only: Option<Vec<String>>,
}

impl Default for ArtifactQuery {
    fn default() -> Self {
        ArtifactQuery {
            search: String::new(),
            after: None,
            limit: DEFAULT_LIMIT,
            only: None,
        }
    }
}

/// Why a `limit` or `after` was refused: the field and what to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagingError {
    pub field: &'static str,
    pub message: String,
}

/// Checks a requested `limit` (1–[`MAX_LIMIT`], `default` when absent) and
/// cursor (at most [`MAX_CURSOR`] bytes; empty means the first page).
pub fn check(
    limit: Option<i64>,
    after: Option<String>,
    default: i64,
) -> Result<(i64, Option<String>), PagingError> {
    let limit = match limit {
        None => default,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(PagingError {
                field: "limit",
                message: format!("Choose a limit from 1 to {MAX_LIMIT}."),
            })
        }
    };
    let after = after.filter(|a| !a.is_empty());
    if after.as_ref().is_some_and(|a| a.len() > MAX_CURSOR) {
        return Err(PagingError {
            field: "after",
            message: format!(
                "The cursor is too long (at most {MAX_CURSOR} characters): send the `next` link of the previous page."
            ),
        });
    }
    Ok((limit, after))
}

/// A `LIKE` pattern matching names that contain `search` (lower-cased, with
/// `%`, `_` and the escape character `\` escaped).
pub fn contains_pattern(search: &str) -> String {
    format!(
        "%{}%",
        search
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// `path` with these query parameters, percent-encoded (those with an
/// empty value left out): a page's `next` link.
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    let mut sep = '?';
    for (name, value) in params.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(sep);
        sep = '&';
        encode_into(&mut out, name);
        out.push('=');
        encode_into(&mut out, value);
    }
    out
}

fn encode_into(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_knows_whether_another_follows() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next.as_deref(), Some("2"));
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.items, vec![1, 2]);
        assert_eq!(last.next, None);
    }

    #[test]
    fn links_encode_their_parameters() {
        assert_eq!(
            link("/artifacts", &[("q", ""), ("after", "")]),
            "/artifacts"
        );
        assert_eq!(
            link(
                "/api/v1/artifacts",
                &[("limit", "2"), ("after", "charts/web 1&é")]
            ),
            "/api/v1/artifacts?limit=2&after=charts%2Fweb%201%26%C3%A9"
        );
    }

    #[test]
    fn limits_and_cursors_are_checked() {
        assert_eq!(check(None, None, 100), Ok((100, None)));
        assert_eq!(
            check(Some(1000), Some("web".into()), 100),
            Ok((1000, Some("web".into())))
        );
        assert_eq!(check(Some(5), Some(String::new()), 100), Ok((5, None)));
        for bad in [0, -1, 1001] {
            assert_eq!(check(Some(bad), None, 100).unwrap_err().field, "limit");
        }
        assert_eq!(
            check(None, Some("x".repeat(1001)), 100).unwrap_err().field,
            "after"
        );
    }
}
