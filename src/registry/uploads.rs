//! Blob uploads: POST (session start, monolithic with `digest`, cross-repo
//! mount), PATCH (chunks, in order), PUT (close and verify), GET (status),
//! DELETE (cancel). Chunks are streamed to storage, never held whole in
//! memory.
//!
//! A session lives in the database ([`domain::store::UploadStore`]) from
//! its first chunk: any instance may take the next chunk or close it, and
//! it survives a restart. Before that it lives in its id, which names the
//! repository and the start ([`super::upload_id`]): a POST writes nothing.
//! Each chunk is its own object, named in the session's `parts` only once
//! it is complete; a write changes the session only if it still has the
//! parts it read, so two requests on one upload cannot both append (the
//! loser's chunk is deleted). Ending a session (close or cancel) leaves a
//! tombstone, so that its id is unknown from then on. A monolithic upload
//! (POST with `digest`) never has a session row.
//!
//! Closing a session that has no stored chunk (POST, then PUT with the
//! whole body) takes one database write: the blob is verified and put in
//! place first, then the session's end and the blob's link are one commit.
//! That order is safe only because the request moved nothing but its own
//! chunk (a body that is not empty: its own file, renamed into place): one
//! that loses the end to another request leaves a blob file of verified
//! bytes behind and takes nothing the winner needs. A session with stored
//! chunks ends first and is put in place after.
//!
//! This process's view: the instance that took an upload's last chunk (or
//! started it) keeps the session as it wrote it, with the running sha256 of
//! every byte so far ([`LocalUploads`]). The next PATCH or PUT on this
//! instance starts from that view instead of reading the session from the
//! database, and closes with that hasher. The view can only go stale when another
//! instance took a chunk in between; the compare-and-set write then fails,
//! and the request reads the session, appends after what it says, and
//! drops the hasher. An instance without a hasher (a chunk went elsewhere,
//! or the process restarted) verifies by streaming the stored chunks
//! through a new hasher at close.

use super::storage::ChunkError;
use super::upload_id;
use super::{authorize, header_str, Need, RegistryError, RegistryResult, Req};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::oci::{Algorithm, Digest, RepositoryName};
use domain::store::{RepoId, StoredUpload, UploadSession};
use domain::{OrgId, Principal};
use futures::StreamExt;
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// This process's view of the uploads whose last chunk it took (or that
/// it started): the
/// session as this process wrote it and the running sha256 of its bytes.
#[derive(Default)]
pub struct LocalUploads {
    map: Mutex<HashMap<String, (UploadSession, sha2::Sha256, Instant)>>,
}

type LocalMap = HashMap<String, (UploadSession, sha2::Sha256, Instant)>;

impl LocalUploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, LocalMap> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the view of upload `id` of repository `name` (left in place
    /// for a request naming another repository, which the database then
    /// refuses).
    fn take(&self, id: &str, name: &str) -> Option<(UploadSession, sha2::Sha256)> {
        let mut map = self.lock();
        match map.get(id) {
            Some((s, _, _)) if s.name == name => map.remove(id).map(|(s, h, _)| (s, h)),
            _ => None,
        }
    }

    fn put(&self, session: UploadSession, hasher: sha2::Sha256) {
        self.lock()
            .insert(session.id.clone(), (session, hasher, Instant::now()));
    }

    fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Drops views unused for `idle` (their upload went elsewhere or away).
    pub fn forget_idle(&self, idle: Duration) {
        self.lock().retain(|_, (_, _, t)| t.elapsed() <= idle);
    }

    /// How many uploads this process holds a view (and a hasher) of.
    pub fn len(&self) -> usize {
        self.lock().len()
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
    repo_id(req, org_id, name).await
}

/// The id of repository `name` of org `org_id` (the caller authorized the
/// write), created if needed.
async fn repo_id(req: Req<'_>, org_id: OrgId, name: &RepositoryName) -> RegistryResult<RepoId> {
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
    let id = upload_id::mint(name.as_str(), chrono::Utc::now());
    if let Some(digest) = req.query.get("digest") {
        // Monolithic upload: the whole blob in this request, no session row.
        let digest = Digest::parse(digest)?;
        let mut hasher = Some(sha2::Sha256::new());
        let (part, size) = append(req, &id, &[], body, &mut hasher).await?;
        let parts: Vec<String> = part.into_iter().collect();
        return finish(req, name, repo, &id, &parts, size, hasher, &digest).await;
    }
    let session = UploadSession {
        id: id.clone(),
        repo,
        name: name.as_str().to_owned(),
        size: 0,
        parts: Vec::new(),
    };
    req.registry.uploads.put(session, sha2::Sha256::new());
    Ok(progress(StatusCode::ACCEPTED, name, &id, 0))
}

/// Streams a request body into storage as the upload's next chunk
/// (not yet named in the session: the caller records it). Returns the
/// chunk's part name (`None` for an empty body) and its size; when the
/// body or storage fails, the partial chunk is removed.
async fn append(
    req: Req<'_>,
    id: &str,
    parts: &[String],
    body: Body,
    hasher: &mut Option<sha2::Sha256>,
) -> RegistryResult<(Option<String>, u64)> {
    let part = format!(
        "{:08}-{}",
        parts.len(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let stream = body.into_data_stream().boxed();
    let result = req
        .registry
        .storage
        .write_chunk(id, &part, stream, |b| {
            if let Some(h) = hasher.as_mut() {
                h.update(b)
            }
        })
        .await;
    match result {
        Ok(0) => Ok((None, 0)), // an empty body adds no chunk
        Ok(n) => Ok((Some(part), n)),
        Err(ChunkError::Body(e)) => Err(RegistryError::BlobUploadInvalid(format!(
            "upload interrupted: {e}"
        ))),
        Err(ChunkError::Storage(e)) => Err(e.into()),
    }
}

/// Verifies the digest and makes the blob visible in the repository. The
/// session (if any) has ended: this request owns `parts`.
#[allow(clippy::too_many_arguments)]
async fn finish(
    req: Req<'_>,
    name: &RepositoryName,
    repo: RepoId,
    id: &str,
    parts: &[String],
    size: u64,
    hasher: Option<sha2::Sha256>,
    digest: &Digest,
) -> RegistryResult<Response> {
    let storage = &req.registry.storage;
    let actual = match (digest.algorithm(), hasher) {
        (Algorithm::Sha256, Some(h)) => sha256_text(h),
        // The bytes went (partly) through another instance: read them back.
        (Algorithm::Sha256, None) => {
            let h = hash_stored::<sha2::Sha256>(req, id, parts).await?;
            format!("sha256:{h}")
        }
        (Algorithm::Sha512, _) => {
            let h = hash_stored::<sha2::Sha512>(req, id, parts).await?;
            format!("sha512:{h}")
        }
    };
    if actual != digest.as_str() {
        storage.discard(id, parts).await;
        return Err(RegistryError::DigestInvalid(format!(
            "content has digest {actual}, not {digest}"
        )));
    }
    place(req, id, parts, digest).await?;
    req.ctx
        .store
        .link_blob(repo, digest.as_str(), size as i64)
        .await?;
    Ok(created(name, digest))
}

/// `sha256:<hex>` of what `h` has read.
fn sha256_text(h: sha2::Sha256) -> String {
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Makes the verified chunks `parts` blob `digest` (when the blob is here
/// already, it is replaced by the same bytes: cheaper than asking the
/// database); when that fails, they go.
async fn place(req: Req<'_>, id: &str, parts: &[String], digest: &Digest) -> RegistryResult<()> {
    let storage = &req.registry.storage;
    if let Err(e) = storage.commit(id, parts, digest).await {
        storage.discard(id, parts).await;
        return Err(e.into());
    }
    Ok(())
}

/// The hex digest of an upload's stored chunks.
async fn hash_stored<H: sha2::Digest>(
    req: Req<'_>,
    id: &str,
    parts: &[String],
) -> RegistryResult<String> {
    let mut h = H::new();
    let mut s = req.registry.storage.read_chunks(id, parts);
    while let Some(b) = s.next().await {
        match b {
            Ok(b) => h.update(&b),
            Err(e) => {
                req.registry.storage.discard(id, parts).await;
                return Err(RegistryError::Internal(format!(
                    "reading upload {id} back: {e}"
                )));
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// Parses `Content-Range: <start>-<end>`.
fn content_range(value: &str) -> Option<(u64, u64)> {
    let v = value.trim().strip_prefix("bytes ").unwrap_or(value.trim());
    let v = v.split('/').next()?;
    let (a, b) = v.split_once('-')?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((a, b))
}

/// The open session `id` of repository `name` of org `org_id`: as stored,
/// or, when nothing is stored, as its id says (no chunk yet).
async fn session(
    req: Req<'_>,
    org_id: OrgId,
    name: &RepositoryName,
    id: &str,
) -> RegistryResult<UploadSession> {
    match req.ctx.store.upload(id).await? {
        Some(StoredUpload::Open(s)) if s.name == name.as_str() => Ok(s),
        None if upload_id::valid(id, name.as_str(), chrono::Utc::now(), super::UPLOAD_IDLE) => {
            Ok(UploadSession {
                id: id.to_owned(),
                repo: repo_id(req, org_id, name).await?,
                name: name.as_str().to_owned(),
                size: 0,
                parts: Vec::new(),
            })
        }
        _ => Err(RegistryError::BlobUploadUnknown),
    }
}

/// Whether a chunk may follow `size` bytes: without a `Content-Range` it
/// appends; with one it must start where the upload stands.
fn in_order(req: Req<'_>, size: i64) -> bool {
    header_str(req.headers, "content-range")
        .is_none_or(|range| content_range(range).is_some_and(|(start, _)| start == size as u64))
}

/// The session for a chunk (`PATCH`, or a closing `PUT` with a body), from
/// the database: a chunk out of order is refused with 416 and the session
/// stays as it was (spec: the client resumes from a status `GET` or the
/// 416's `Range`).
async fn session_for_chunk(
    req: Req<'_>,
    org_id: OrgId,
    name: &RepositoryName,
    id: &str,
) -> RegistryResult<UploadSession> {
    let session = session(req, org_id, name, id).await?;
    if !in_order(req, session.size) {
        return Err(out_of_order(name, id, session.size));
    }
    Ok(session)
}

/// Where a chunk starts, and the hasher of the bytes before it: this
/// process's view when it has one and the chunk follows it (`true`), else
/// the database's session (`false`; a hasher only for an empty upload).
async fn open(
    req: Req<'_>,
    org_id: OrgId,
    name: &RepositoryName,
    id: &str,
) -> RegistryResult<(UploadSession, Option<sha2::Sha256>, bool)> {
    if let Some((session, hasher)) = req.registry.uploads.take(id, name.as_str()) {
        // With nothing stored, the id is all there is: stale, it is unknown
        // (its tombstone, if it ended elsewhere, may be gone by now).
        if session.parts.is_empty()
            && !upload_id::valid(id, name.as_str(), chrono::Utc::now(), super::UPLOAD_IDLE)
        {
            return Err(RegistryError::BlobUploadUnknown);
        }
        if in_order(req, session.size) {
            return Ok((session, Some(hasher), true));
        }
        // Not where this process left it: the database says where it is.
    }
    let session = session_for_chunk(req, org_id, name, id).await?;
    let hasher = (session.size == 0).then(sha2::Sha256::new);
    Ok((session, hasher, false))
}

/// This process's view was stale (another instance took a chunk since):
/// the session as the database has it, for chunk `part` written after the
/// stale view. When the chunk does not fit there, it goes.
async fn reopen(
    req: Req<'_>,
    org_id: OrgId,
    name: &RepositoryName,
    id: &str,
    part: Option<&String>,
) -> RegistryResult<UploadSession> {
    match session_for_chunk(req, org_id, name, id).await {
        Ok(s) => Ok(s),
        Err(e) => {
            if let Some(p) = part {
                req.registry
                    .storage
                    .discard(id, std::slice::from_ref(p))
                    .await;
            }
            Err(e)
        }
    }
}

fn out_of_order(name: &RepositoryName, id: &str, size: i64) -> RegistryError {
    RegistryError::RangeNotSatisfiable {
        location: location(name, id),
        size: size as u64,
    }
}

/// Another request changed or ended the session while this one wrote a
/// chunk: its chunk goes, and the client hears where the upload stands.
async fn lost_race(
    req: Req<'_>,
    name: &RepositoryName,
    id: &str,
    part: Option<&String>,
) -> RegistryError {
    if let Some(p) = part {
        req.registry
            .storage
            .discard(id, std::slice::from_ref(p))
            .await;
    }
    match req.ctx.store.upload(id).await {
        Ok(Some(StoredUpload::Open(s))) if s.name == name.as_str() => {
            out_of_order(name, id, s.size)
        }
        Ok(_) => RegistryError::BlobUploadUnknown,
        Err(e) => e.into(),
    }
}

/// A chunk's body failed: the upload is void (its session and chunks go).
async fn void(req: Req<'_>, session: &UploadSession, e: RegistryError) -> RegistryError {
    if let Ok(true) = req.ctx.store.end_upload(session).await {
        req.registry
            .storage
            .discard(&session.id, &session.parts)
            .await;
    }
    e
}

pub async fn patch(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    id: &str,
    body: Body,
) -> RegistryResult<Response> {
    let org_id = authorize(req, p, name, Need::Write).await?;
    let (mut session, mut hasher, local) = open(req, org_id, name, id).await?;
    let (part, n) = match append(req, id, &session.parts, body, &mut hasher).await {
        Ok(written) => written,
        Err(e) => return Err(void(req, &session, e).await),
    };
    let Some(part) = part else {
        // An empty chunk changes nothing; the size reported is the
        // database's when this process's view may be stale.
        if local {
            let stored = reopen(req, org_id, name, id, None).await?;
            if stored.parts != session.parts {
                hasher = None;
            }
            session = stored;
        }
        if let Some(h) = hasher {
            req.registry.uploads.put(session.clone(), h);
        }
        return Ok(progress(
            StatusCode::ACCEPTED,
            name,
            id,
            session.size as u64,
        ));
    };
    let store = &req.ctx.store;
    let size = n as i64;
    if !store.append_upload(&session, &part, size).await? {
        if !local {
            return Err(lost_race(req, name, id, Some(&part)).await);
        }
        // Another instance took a chunk since this process's last one:
        // append after what the database has; this hasher missed bytes.
        hasher = None;
        session = reopen(req, org_id, name, id, Some(&part)).await?;
        if !store.append_upload(&session, &part, size).await? {
            return Err(lost_race(req, name, id, Some(&part)).await);
        }
    }
    session.parts.push(part);
    session.size += size;
    let total = session.size as u64;
    if let Some(h) = hasher {
        req.registry.uploads.put(session, h);
    }
    Ok(progress(StatusCode::ACCEPTED, name, id, total))
}

pub async fn put(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    id: &str,
    body: Body,
) -> RegistryResult<Response> {
    let org_id = authorize(req, p, name, Need::Write).await?;
    let digest = match req.query.get("digest") {
        Some(d) => Digest::parse(d)?,
        None => {
            return Err(RegistryError::DigestInvalid(
                "the digest query parameter is required".into(),
            ))
        }
    };
    let (mut session, mut hasher, local) = open(req, org_id, name, id).await?;
    let (part, n) = match append(req, id, &session.parts, body, &mut hasher).await {
        Ok(written) => written,
        Err(e) => return Err(void(req, &session, e).await),
    };
    let store = &req.ctx.store;
    // No stored chunk, and the body is the blob: one write (module doc).
    // (Not for an empty body: placing no chunk writes the upload's shared
    // `.blob` file, which a closer of stored chunks may be writing.)
    let whole = session.parts.is_empty() && matches!(digest.algorithm(), Algorithm::Sha256);
    if let (true, Some(h), Some(chunk)) = (whole, &hasher, &part) {
        if sha256_text(h.clone()) == digest.as_str() {
            let chunk = (chunk.clone(), n);
            return close_whole(req, org_id, name, &session, local, chunk, &digest).await;
        }
    }
    // Ending the session makes this request the one that closes it.
    if !store.end_upload(&session).await? {
        if !local {
            return Err(lost_race(req, name, id, part.as_ref()).await);
        }
        // As in `patch`: close after what the database has.
        hasher = None;
        session = reopen(req, org_id, name, id, part.as_ref()).await?;
        if !store.end_upload(&session).await? {
            return Err(lost_race(req, name, id, part.as_ref()).await);
        }
    }
    let mut parts = session.parts;
    parts.extend(part);
    let size = session.size as u64 + n;
    finish(req, name, session.repo, id, &parts, size, hasher, &digest).await
}

/// Closes a session that had no stored chunk with this request's chunk
/// (its part and size), verified to be blob `digest`: puts the blob in
/// place, then ends the session and links the blob in one write.
async fn close_whole(
    req: Req<'_>,
    org_id: OrgId,
    name: &RepositoryName,
    session: &UploadSession,
    local: bool,
    (part, size): (String, u64),
    digest: &Digest,
) -> RegistryResult<Response> {
    let id = session.id.as_str();
    let parts = [part];
    place(req, id, &parts, digest).await?;
    let store = &req.ctx.store;
    if store
        .end_upload_linking(session, digest.as_str(), size as i64)
        .await?
    {
        return Ok(created(name, digest));
    }
    if !local {
        return Err(lost_race(req, name, id, None).await);
    }
    // This process's view was stale: another instance stored chunks first.
    // The upload is those and then this chunk, so its content is not the
    // blob (this chunk alone): refused, and the upload ends, as any close
    // with a wrong digest. The blob file stays, linked to nothing.
    let stored = reopen(req, org_id, name, id, None).await?;
    if stored.parts.is_empty() || !store.end_upload(&stored).await? {
        return Err(lost_race(req, name, id, None).await);
    }
    req.registry.storage.discard(id, &stored.parts).await;
    Err(RegistryError::DigestInvalid(format!(
        "the upload's content does not have digest {digest}"
    )))
}

pub async fn status(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    id: &str,
) -> RegistryResult<Response> {
    let org_id = authorize(req, p, name, Need::Write).await?;
    let session = session(req, org_id, name, id).await?;
    Ok(progress(
        StatusCode::NO_CONTENT,
        name,
        id,
        session.size as u64,
    ))
}

pub async fn cancel(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    id: &str,
) -> RegistryResult<Response> {
    let org_id = authorize(req, p, name, Need::Write).await?;
    let session = session(req, org_id, name, id).await?;
    if !req.ctx.store.end_upload(&session).await? {
        return Err(lost_race(req, name, id, None).await);
    }
    req.registry.uploads.forget(id);
    req.registry.storage.discard(id, &session.parts).await;
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
