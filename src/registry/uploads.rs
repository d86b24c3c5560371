//! Blob uploads: POST (session start, monolithic with `digest`, cross-repo
//! mount), PATCH (chunks, in order), PUT (close and verify), GET (status),
//! DELETE (cancel). Sessions live in memory with a running sha256; chunks
//! are streamed to storage, never held whole in memory.

use super::storage::ChunkError;
use super::{authorize, header_str, Need, RegistryError, RegistryResult, Req};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::oci::{Algorithm, Digest, RepositoryName};
use domain::store::RepoId;
use domain::Principal;
use futures::StreamExt;
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Session {
    repo: RepoId,
    name: String,
    hasher: sha2::Sha256,
    size: u64,
    chunks: u32,
    touched: Instant,
}

/// Upload sessions by id.
#[derive(Default)]
pub struct Uploads {
    sessions: Mutex<HashMap<String, Session>>,
}

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(&self, id: String, s: Session) {
        self.lock().insert(id, s);
    }

    /// Takes a session out for exclusive use (a concurrent request on the
    /// same upload sees it as unknown until it is put back).
    fn take(&self, id: &str, name: &RepositoryName) -> RegistryResult<Session> {
        let mut map = self.lock();
        match map.get(id) {
            Some(s) if s.name == name.as_str() => Ok(map.remove(id).expect("present")),
            _ => Err(RegistryError::BlobUploadUnknown),
        }
    }

    fn peek(&self, id: &str, name: &RepositoryName) -> RegistryResult<u64> {
        match self.lock().get(id) {
            Some(s) if s.name == name.as_str() => Ok(s.size),
            _ => Err(RegistryError::BlobUploadUnknown),
        }
    }

    pub fn take_stale(&self, idle: Duration) -> Vec<(String, u32)> {
        let mut map = self.lock();
        let stale: Vec<String> = map
            .iter()
            .filter(|(_, s)| s.touched.elapsed() > idle)
            .map(|(id, _)| id.clone())
            .collect();
        stale
            .into_iter()
            .filter_map(|id| map.remove(&id).map(|s| (id, s.chunks)))
            .collect()
    }
}

fn location(name: &RepositoryName, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

fn progress(status: StatusCode, name: &RepositoryName, id: &str, size: u64) -> Response {
    // An empty upload reports "0-0", as docker's registry does.
    let range = format!("0-{}", size.saturating_sub(1));
    (
        status,
        [
            (header::LOCATION, location(name, id)),
            (header::RANGE, range),
            (
                header::HeaderName::from_static("docker-upload-uuid"),
                id.to_owned(),
            ),
            (header::CONTENT_LENGTH, "0".to_owned()),
        ],
    )
        .into_response()
}

fn created(name: &RepositoryName, digest: &Digest) -> Response {
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{name}/blobs/{digest}")),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest.to_string(),
            ),
            (header::CONTENT_LENGTH, "0".to_owned()),
        ],
    )
        .into_response()
}

/// The repository a push goes to, created at its first push (its id from
/// memory after that: no database write to start an upload).
async fn write_repo(req: Req<'_>, p: &Principal, name: &RepositoryName) -> RegistryResult<RepoId> {
    let org_id = authorize(req, p, name, Need::Write).await?;
    let cache = &req.registry.cache;
    if let Some(id) = cache.repo(name.as_str()) {
        return Ok(id);
    }
    let id = req.ctx.store.ensure_repo(org_id, name.artifact()).await?.id;
    cache.put_repo(name.as_str(), id);
    Ok(id)
}

pub async fn start(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    body: Body,
) -> RegistryResult<Response> {
    let repo = write_repo(req, p, name).await?;
    // Cross-repository mount: needs read access to the source.
    if let (Some(mount), Some(from)) = (req.query.get("mount"), req.query.get("from")) {
        let digest = Digest::parse(mount)?;
        let from = RepositoryName::parse(from)?;
        if let Ok((src, _)) = super::pull_repo(req, p, &from).await {
            if let Some(size) = req.ctx.store.repo_blob(src.id, digest.as_str()).await? {
                req.ctx.store.link_blob(repo, digest.as_str(), size).await?;
                return Ok(created(name, &digest));
            }
        }
        // Not mountable: fall back to a regular upload session (spec).
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut session = Session {
        repo,
        name: name.to_string(),
        hasher: sha2::Sha256::new(),
        size: 0,
        chunks: 0,
        touched: Instant::now(),
    };
    if let Some(digest) = req.query.get("digest") {
        // Monolithic upload: the whole blob in this request.
        let digest = Digest::parse(digest)?;
        append(req, &id, &mut session, body).await?;
        return finish(req, name, &id, session, &digest).await;
    }
    req.registry.uploads.insert(id.clone(), session);
    Ok(progress(StatusCode::ACCEPTED, name, &id, 0))
}

/// Streams a request body into the session as its next chunk.
async fn append(req: Req<'_>, id: &str, session: &mut Session, body: Body) -> RegistryResult<()> {
    let stream = body.into_data_stream().boxed();
    let hasher = &mut session.hasher;
    let result = req
        .registry
        .storage
        .write_chunk(id, session.chunks, stream, |b| hasher.update(b))
        .await;
    match result {
        Ok(0) => Ok(()), // an empty body adds no chunk
        Ok(n) => {
            session.chunks += 1;
            session.size += n;
            session.touched = Instant::now();
            Ok(())
        }
        Err(ChunkError::Body(e)) => {
            // The client went away mid-chunk: the upload is void.
            req.registry.storage.discard(id, session.chunks + 1).await;
            Err(RegistryError::BlobUploadInvalid(format!(
                "upload interrupted: {e}"
            )))
        }
        Err(ChunkError::Storage(e)) => {
            req.registry.storage.discard(id, session.chunks + 1).await;
            Err(e.into())
        }
    }
}

/// Verifies the digest and makes the blob visible in the repository.
async fn finish(
    req: Req<'_>,
    name: &RepositoryName,
    id: &str,
    session: Session,
    digest: &Digest,
) -> RegistryResult<Response> {
    let storage = &req.registry.storage;
    let actual = match digest.algorithm() {
        Algorithm::Sha256 => format!("sha256:{}", hex::encode(session.hasher.finalize())),
        Algorithm::Sha512 => {
            let mut h = sha2::Sha512::new();
            let mut s = storage.read_chunks(id, session.chunks);
            while let Some(b) = s.next().await {
                h.update(b.map_err(|e| RegistryError::Internal(e.to_string()))?);
            }
            format!("sha512:{}", hex::encode(h.finalize()))
        }
    };
    if actual != digest.as_str() {
        storage.discard(id, session.chunks).await;
        return Err(RegistryError::DigestInvalid(format!(
            "content has digest {actual}, not {digest}"
        )));
    }
    // Verified: the upload becomes the blob (when the blob is here already,
    // it is replaced by the same bytes: cheaper than asking the database).
    if let Err(e) = storage.commit(id, session.chunks, digest).await {
        storage.discard(id, session.chunks).await;
        return Err(e.into());
    }
    req.ctx
        .store
        .link_blob(session.repo, digest.as_str(), session.size as i64)
        .await?;
    Ok(created(name, digest))
}

/// Parses `Content-Range: <start>-<end>`.
fn content_range(value: &str) -> Option<(u64, u64)> {
    let v = value.trim().strip_prefix("bytes ").unwrap_or(value.trim());
    let v = v.split('/').next()?;
    let (a, b) = v.split_once('-')?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((a, b))
}

/// Takes the session for a chunk (`PATCH`, or a closing `PUT` with a body):
/// a chunk with a `Content-Range` must start where the upload stands, else
/// 416 and the session stays as it was (spec: the client resumes from a
/// status `GET` or the 416's `Range`).
fn take_for_chunk(req: Req<'_>, name: &RepositoryName, id: &str) -> RegistryResult<Session> {
    let session = req.registry.uploads.take(id, name)?;
    if let Some(range) = header_str(req.headers, "content-range") {
        let in_order = content_range(range).is_some_and(|(start, _)| start == session.size);
        if !in_order {
            let size = session.size;
            req.registry.uploads.insert(id.to_owned(), session);
            return Err(RegistryError::RangeNotSatisfiable {
                location: location(name, id),
                size,
            });
        }
    }
    Ok(session)
}

pub async fn patch(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    id: &str,
    body: Body,
) -> RegistryResult<Response> {
    authorize(req, p, name, Need::Write).await?;
    let mut session = take_for_chunk(req, name, id)?;
    append(req, id, &mut session, body).await?;
    let size = session.size;
    req.registry.uploads.insert(id.to_owned(), session);
    Ok(progress(StatusCode::ACCEPTED, name, id, size))
}

pub async fn put(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    id: &str,
    body: Body,
) -> RegistryResult<Response> {
    authorize(req, p, name, Need::Write).await?;
    let digest = match req.query.get("digest") {
        Some(d) => Digest::parse(d)?,
        None => {
            return Err(RegistryError::DigestInvalid(
                "the digest query parameter is required".into(),
            ))
        }
    };
    let mut session = take_for_chunk(req, name, id)?;
    append(req, id, &mut session, body).await?;
    finish(req, name, id, session, &digest).await
}

pub async fn status(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    id: &str,
) -> RegistryResult<Response> {
    authorize(req, p, name, Need::Write).await?;
    let size = req.registry.uploads.peek(id, name)?;
    Ok(progress(StatusCode::NO_CONTENT, name, id, size))
}

pub async fn cancel(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    id: &str,
) -> RegistryResult<Response> {
    authorize(req, p, name, Need::Write).await?;
    let session = req.registry.uploads.take(id, name)?;
    req.registry.storage.discard(id, session.chunks).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::content_range;

    #[test]
    fn content_ranges() {
        assert_eq!(content_range("0-99"), Some((0, 99)));
        assert_eq!(content_range("bytes 100-199/*"), Some((100, 199)));
        assert_eq!(content_range("9-1"), None);
        assert_eq!(content_range("x"), None);
    }
}
