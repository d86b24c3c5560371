//! Tag list, catalog and referrers: all from the database, paginated with
//! `n`/`last` and a `Link` header.

use super::{allowed, pull_repo, repo_graph, Pull, Reach, RegistryError, RegistryResult, Req};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::oci::{Digest, RepositoryName};
use domain::policy::Visibility;
use domain::registry::Referrer;
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
    let (repo, pull) = pull_repo(req, p, name).await?;
    let n = page_size(req)?;
    let last = req.query.get("last").map(String::as_str);
    let tags = match pull.reach(name) {
        _ if n == 0 => vec![],
        Reach::Everything => req.ctx.store.tags(repo.id, last, n).await?,
        // A customer sees only the granted tags.
        Reach::Granted(grant) => repo_graph(req, pull.org_id, name)
            .await?
            .graph()
            .visible_tags(grant)
            .filter(|t| last.is_none_or(|last| *t > last))
            .take(n as usize)
            .map(str::to_owned)
            .collect(),
    };
    let resp = Json(json!({"name": name.as_str(), "tags": tags})).into_response();
    Ok(with_next(resp, &format!("/v2/{name}/tags/list"), &tags, n))
}

pub async fn catalog(req: Req<'_>, p: &Principal) -> RegistryResult<Response> {
    let n = page_size(req)?;
    let last = req.query.get("last").map(String::as_str);
    let repos = match p {
        _ if n == 0 => vec![],
        // A vendor user sees its own organization's repositories.
        Principal::Vendor { org_id, .. } => req.ctx.store.catalog(Some(*org_id), last, n).await?,
        // A customer sees the visible ones.
        Principal::Customer {
            org_id,
            org_slug: slug,
            ..
        } => {
            let access = req.ctx.visibility(p).await?;
            match &access.visibility {
                Visibility::Everything => req.ctx.store.catalog(Some(*org_id), last, n).await?,
                // Only the granted artifacts can be listed: ask the store
                // about those (the ones after `last`), never page through
                // the whole organization.
                Visibility::Granted(grants) => {
                    let mut names: Vec<&str> = grants
                        .keys()
                        .map(String::as_str)
                        .filter(|a| access.visibility.artifact_visible(a))
                        .filter(|a| last.is_none_or(|last| format!("{slug}/{a}").as_str() > last))
                        .collect();
                    names.sort_unstable();
                    let mut repos = Vec::new();
                    // In slices of the page size, so a page costs about one
                    // lookup of n names whatever the grant's size.
                    for chunk in names.chunks(n as usize) {
                        for a in req.ctx.store.existing_artifacts(*org_id, chunk).await? {
                            repos.push(format!("{slug}/{a}"));
                        }
                        if repos.len() >= n as usize {
                            break;
                        }
                    }
                    repos.sort_unstable();
                    repos.truncate(n as usize);
                    repos
                }
            }
        }
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
    let artifact_type = req.query.get("artifactType").map(String::as_str);
    // A registry with the referrers API must not answer 404 here: a
    // repository that does not exist (or that this principal may not see,
    // which is answered the same) has no referrers.
    let found = match pull_repo(req, p, name).await {
        Ok((repo, pull)) => {
            let mut found = req
                .ctx
                .store
                .referrers(repo.id, subject.as_str(), artifact_type)
                .await?;
            customer_filter(req, name, subject, &pull, &mut found).await?;
            found
        }
        Err(RegistryError::NameUnknown) => vec![],
        Err(e) => return Err(e),
    };
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

/// A customer sees the referrers of manifests it may pull (which are then
/// allowed too); for any other subject, an empty list, as for a subject
/// that does not exist.
async fn customer_filter(
    req: Req<'_>,
    name: &RepositoryName,
    subject: &Digest,
    pull: &Pull,
    found: &mut Vec<Referrer>,
) -> RegistryResult<()> {
    if let Reach::Granted(grant) = pull.reach(name) {
        let allowed = allowed(req, pull.org_id, name, grant).await?;
        if allowed.manifests.contains(subject.as_str()) {
            found.retain(|r| allowed.manifests.contains(&r.digest));
        } else {
            found.clear();
        }
    }
    Ok(())
}
