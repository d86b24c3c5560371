//! Blobs: GET/HEAD (with `Range`) and DELETE.

use super::{
    allowed, authorize, existing_repo, header_str, pull_repo, Need, Reach, RegistryError,
    RegistryResult, Req,
};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::oci::{Digest, RepositoryName};
use domain::Principal;
use std::ops::Range;

/// Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range against `size`.
fn parse_range(value: &str, size: u64) -> Option<Range<u64>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.checked_sub(n.min(size))?, size)
        }
        (a, "") => (a.parse().ok()?, size),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.saturating_add(1).min(size),
        ),
    };
    (start < end && start < size).then_some(start..end)
}

pub async fn get(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    digest: &Digest,
    with_body: bool,
) -> RegistryResult<Response> {
    let (repo, pull) = pull_repo(req, p, name).await?;
    // Knowing a digest is not enough: a customer's blob must belong to a
    // manifest it may pull, in this repository.
    if let Reach::Granted(grant) = pull.reach(name) {
        let allowed = allowed(req, pull.org_id, name, grant).await?;
        if !allowed.blobs.contains(digest.as_str()) {
            return Err(RegistryError::BlobUnknown);
        }
    }
    let size = req
        .ctx
        .store
        .repo_blob(repo.id, digest.as_str())
        .await?
        .ok_or(RegistryError::BlobUnknown)? as u64;
    let range = match header_str(req.headers, "range") {
        Some(r) => match parse_range(r, size) {
            Some(range) => Some(range),
            None => {
                return Ok((
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{size}"))],
                )
                    .into_response())
            }
        },
        None => None,
    };
    let (status, length) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start),
        None => (StatusCode::OK, size),
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, length)
        .header(header::ACCEPT_RANGES, "bytes")
        .header("Docker-Content-Digest", digest.as_str())
        .header(header::ETAG, format!("\"{digest}\""))
        .header(header::CACHE_CONTROL, "max-age=31536000");
    if let Some(r) = &range {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", r.start, r.end - 1),
        );
    }
    let body = if with_body {
        let stream = req
            .registry
            .storage
            .read(digest, range)
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => RegistryError::Internal(format!(
                    "blob {digest} is recorded but missing from storage"
                )),
                other => other.into(),
            })?;
        Body::from_stream(stream)
    } else {
        Body::empty()
    };
    builder
        .body(body)
        .map_err(|e| RegistryError::Internal(e.to_string()))
}

pub async fn delete(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    digest: &Digest,
) -> RegistryResult<Response> {
    let org_id = authorize(req, p, name, Need::Write).await?;
    let repo = existing_repo(req, org_id, name).await?;
    if req.ctx.store.unlink_blob(repo.id, digest.as_str()).await? {
        Ok(StatusCode::ACCEPTED.into_response())
    } else {
        Err(RegistryError::BlobUnknown)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Some(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Some(90..100));
        assert_eq!(parse_range("bytes=50-500", 100), Some(50..100));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-2", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
