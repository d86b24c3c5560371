//! Tag list, catalog and referrers: all from the database, paginated with
//! `n`/`last` and a `Link` header.

use super::{pull_repo, RegistryError, RegistryResult, Req};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::oci::{Digest, RepositoryName};
use domain::Principal;
use serde_json::json;

const DEFAULT_PAGE: i64 = 1000;
const MAX_PAGE: i64 = 10_000;

fn page_size(req: Req<'_>) -> RegistryResult<i64> {
    match req.query.get("n") {
        None => Ok(DEFAULT_PAGE),
        Some(n) => n
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n.min(MAX_PAGE))
            .ok_or_else(|| {
                RegistryError::Unsupported(format!("n must be a non-negative number, not {n:?}"))
            }),
    }
}

fn with_next(mut resp: Response, base: &str, items: &[String], n: i64) -> Response {
    if n > 0 && items.len() as i64 == n {
        if let Some(last) = items.last() {
            let link = format!("<{base}?n={n}&last={last}>; rel=\"next\"");
            if let Ok(v) = link.parse() {
                resp.headers_mut().insert(header::LINK, v);
            }
        }
    }
    resp
}

pub async fn tags(req: Req<'_>, p: &Principal, name: &RepositoryName) -> RegistryResult<Response> {
    let repo = pull_repo(req, p, name).await?;
    let n = page_size(req)?;
    let last = req.query.get("last").map(String::as_str);
    let tags = if n == 0 {
        vec![]
    } else {
        req.ctx.store.tags(repo.id, last, n).await?
    };
    let resp = Json(json!({"name": name.as_str(), "tags": tags})).into_response();
    Ok(with_next(resp, &format!("/v2/{name}/tags/list"), &tags, n))
}

pub async fn catalog(req: Req<'_>, p: &Principal) -> RegistryResult<Response> {
    let n = page_size(req)?;
    let last = req.query.get("last").map(String::as_str);
    let repos = match p {
        // A vendor user sees its own organization's repositories.
        Principal::Vendor { org_id, .. } if n > 0 => {
            req.ctx.store.catalog(Some(*org_id), last, n).await?
        }
        // Customers see nothing until entitlements decide (a later release).
        _ => vec![],
    };
    let resp = Json(json!({"repositories": repos})).into_response();
    Ok(with_next(resp, "/v2/_catalog", &repos, n))
}

pub async fn referrers(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    subject: &Digest,
) -> RegistryResult<Response> {
    let repo = pull_repo(req, p, name).await?;
    let artifact_type = req.query.get("artifactType").map(String::as_str);
    let found = req
        .ctx
        .store
        .referrers(repo.id, subject.as_str(), artifact_type)
        .await?;
    let manifests: Vec<serde_json::Value> = found
        .into_iter()
        .map(|r| {
            let mut d = json!({"mediaType": r.media_type, "digest": r.digest, "size": r.size});
            if let Some(t) = r.artifact_type {
                d["artifactType"] = json!(t);
            }
            if let Some(a) = r.annotations {
                d["annotations"] = a;
            }
            d
        })
        .collect();
    let body = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let mut resp = (
        [(
            header::CONTENT_TYPE,
            "application/vnd.oci.image.index.v1+json",
        )],
        body.to_string(),
    )
        .into_response();
    if artifact_type.is_some() {
        resp.headers_mut().insert(
            "OCI-Filters-Applied",
            header::HeaderValue::from_static("artifactType"),
        );
    }
    Ok(resp)
}
