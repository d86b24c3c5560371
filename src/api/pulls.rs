//! `GET /api/v1/pulls`: the pull log (SPEC §6) as JSON or CSV, for vendor
//! users. One route with filters, because artifact names contain slashes
//! (`charts/web`) and would not fit in the middle of a path.

use super::openapi::{BadRequest, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiError, ApiQuery};
use crate::edge::header_items;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::pulls::{Pull, PullQuery, MAX_PULLS};
use domain::CustomerId;
use serde::{Deserialize, Serialize};
use services::authz::Need;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Pulls in a JSON answer when no `limit` is given.
const JSON_LIMIT: i64 = 100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PullsQuery {
    /// Only this customer's pulls (a customer id).
    #[param(value_type = Option<i64>)]
    customer: Option<CustomerId>,
    /// Only this artifact's pulls: its name without the org slug (`charts/web`).
    artifact: Option<String>,
    /// Only pulls older than this one (an `id`): the next page.
    before: Option<i64>,
    /// At most this many, 1–100000; by default 100 as JSON, 100000 as CSV.
    limit: Option<i64>,
    /// `json` (the default) or `csv`; `Accept: text/csv` also asks for CSV.
    format: Option<String>,
}

/// The pulls, newest first.
#[derive(Serialize, ToSchema)]
pub(super) struct PullList {
    pulls: Vec<Pull>,
}

endpoint! {
    /// `GET /api/v1/pulls` — any vendor user: the organization's pulls, newest
    /// first, optionally of one customer and/or one artifact, as JSON or CSV.
    get("/api/v1/pulls", tag = "pulls", params(PullsQuery),
        responses(
            (status = 200, description = "The pulls, newest first: JSON, or with `format=csv` (or `Accept: text/csv`) a CSV file with a header row (id, time, customer_id, customer, user_id, user, artifact, tag, digest, address, count); identical pulls in one second share a row (`count`)",
                content((PullList = "application/json"), (String = "text/csv")),
                headers(("Content-Disposition" = String, description = "With CSV: `attachment; filename=\"pulls-….csv\"`"))), BadRequest, Forbidden, NotFound, Invalid))
    fn list_pulls(s, caller: ApiCaller, headers: HeaderMap, ApiQuery(q): ApiQuery<PullsQuery>) -> Response {
        let me = caller.vendor(Need::Read)?;
        let csv = match q.format.as_deref() {
            Some("csv") => true,
            Some("json") => false,
            Some(_) => return Err(invalid("format", "Choose json or csv.")),
            None => accepts_csv(&headers),
        };
        let limit = match q.limit {
            None if csv => MAX_PULLS,
            None => JSON_LIMIT,
            Some(n) if (1..=MAX_PULLS).contains(&n) => n,
            Some(_) => return Err(invalid("limit", "Choose a limit from 1 to 100000.")),
        };
        let query = PullQuery {
            customer: q.customer,
            artifact: q.artifact.clone(),
            before: q.before,
            limit,
        };
        let pulls = s.ctx.pulls(&caller.0, &query).await?;
        if !csv {
            return Ok(Json(PullList { pulls }).into_response());
        }
        let disposition = format!(
            "attachment; filename=\"{}\"",
            csv_filename(&me.org_slug, q.customer, q.artifact.as_deref())
        );
        Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            domain::pulls::to_csv(&pulls),
        )
            .into_response())
    }
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid(BTreeMap::from([(field.to_owned(), message.to_owned())]))
}

/// Whether the `Accept` header asks for CSV.
fn accepts_csv(headers: &HeaderMap) -> bool {
    header_items(headers, header::ACCEPT)
        .any(|t| t.split(';').next().unwrap_or_default().trim() == "text/csv")
}

/// `pulls-acme.csv`, `pulls-acme-charts-web.csv`, `pulls-acme-customer-7.csv`:
/// only characters that need no quoting in a header.
fn csv_filename(slug: &str, customer: Option<CustomerId>, artifact: Option<&str>) -> String {
    let mut name = format!("pulls-{slug}");
    if let Some(a) = artifact {
        name.push('-');
        name.extend(a.chars().map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        }));
    }
    if let Some(c) = customer {
        name.push_str(&format!("-customer-{c}"));
    }
    name.push_str(".csv");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_and_accept() {
        assert_eq!(csv_filename("acme", None, None), "pulls-acme.csv");
        assert_eq!(
            csv_filename(
                "acme",
                Some(domain::CustomerId::from(7)),
                Some("charts/web\"x")
            ),
            "pulls-acme-charts-web-x-customer-7.csv"
        );
        let mut h = HeaderMap::new();
        assert!(!accepts_csv(&h));
        h.insert(
            header::ACCEPT,
            "application/json, text/csv;q=0.9".parse().unwrap(),
        );
        assert!(accepts_csv(&h));
        h.insert(header::ACCEPT, "text/csvx".parse().unwrap());
        assert!(!accepts_csv(&h));
    }
}
