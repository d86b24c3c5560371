//! Blob upload sessions in the database (issue 12), and the figures
//! `/metrics` reads from the store. A separate trait, so that a second
//! store implements it beside the rest (the SQL is portable: plain
//! `INSERT`/`UPDATE … WHERE`/`DELETE … RETURNING`).

use super::registry::RepoId;
use super::StoreResult;
use chrono::{DateTime, Utc};

/// An open upload session: as stored, or as its id says (no chunk yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    pub id: String,
    pub repo: RepoId,
    /// The repository's full name (org slug included).
    pub name: String,
    /// Bytes received so far.
    pub size: i64,
    /// The chunk objects, in order.
    pub parts: Vec<String>,
}

impl UploadSession {
    /// `parts` as stored (comma-separated; part names have no comma).
    pub fn parts_text(parts: &[String]) -> String {
        parts.join(",")
    }

    /// The inverse of [`UploadSession::parts_text`].
    pub fn parse_parts(text: &str) -> Vec<String> {
        text.split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// How far one server has applied the change feed (`/metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReader {
    pub instance: String,
    pub applied_id: i64,
    pub seen_at: DateTime<Utc>,
}

/// The database pool's use now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolUse {
    /// Open connections.
    pub size: u32,
    /// Of which idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// What the database has of an upload id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredUpload {
    /// Open, with at least one chunk (or written by an older version).
    Open(UploadSession),
    /// Closed or cancelled: the id is unknown from now on.
    Ended,
}

#[async_trait::async_trait]
pub trait UploadStore: Send + Sync {
    /// What is stored of upload `id`; `None` when nothing is (a session
    /// with no chunk yet is not stored: it lives in its id).
    async fn upload(&self, id: &str) -> StoreResult<Option<StoredUpload>>;

    /// Appends chunk `part` of `size` bytes, if the session still has
    /// exactly the parts of `seen` (the session as the caller read it; no
    /// parts: not stored yet, or stored without parts, and open). False
    /// when it moved on or ended.
    async fn append_upload(&self, seen: &UploadSession, part: &str, size: i64)
        -> StoreResult<bool>;

    /// Ends the session (to close or cancel it), if it still has exactly
    /// the parts of `seen`, leaving a tombstone; false when another request
    /// changed or ended it. Exactly one request ends a session.
    async fn end_upload(&self, seen: &UploadSession) -> StoreResult<bool>;

    /// As [`UploadStore::end_upload`] for a session seen without parts
    /// (an error for one with parts), and in the same commit links blob
    /// `digest` of `size` bytes into the session's repository (recording
    /// the blob): false, and nothing linked, when another request changed
    /// or ended the session. For a closer whose blob is in place already.
    async fn end_upload_linking(
        &self,
        seen: &UploadSession,
        digest: &str,
        size: i64,
    ) -> StoreResult<bool>;

    /// Ends and returns the open sessions untouched since `before`, and
    /// drops the tombstones of sessions ended before `ended_before` (the
    /// sweeper; `ended_before` is at most `before`).
    async fn take_stale_uploads(
        &self,
        before: DateTime<Utc>,
        ended_before: DateTime<Utc>,
    ) -> StoreResult<Vec<UploadSession>>;

    /// Which of `ids` are open sessions.
    async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>>;

    /// How many sessions are open.
    async fn count_uploads(&self) -> StoreResult<i64>;

    /// Every server's position in the change feed.
    async fn feed_readers(&self) -> StoreResult<Vec<FeedReader>>;

    /// The connection pool's use.
    fn pool_use(&self) -> PoolUse;
}
