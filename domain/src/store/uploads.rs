//! Blob upload sessions in the database (issue 12), and the figures
//! `/metrics` reads from the store. A separate trait, so that a second
//! store implements it beside the rest (the SQL is portable: plain
//! `INSERT`/`UPDATE … WHERE`/`DELETE … RETURNING`).

use super::registry::RepoId;
use super::StoreResult;
use chrono::{DateTime, Utc};

/// An open upload session as stored.
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

#[async_trait::async_trait]
pub trait UploadStore: Send + Sync {
    /// Starts an empty session `id` for repository `repo` (`name`: its full name).
    async fn create_upload(&self, id: &str, repo: RepoId, name: &str) -> StoreResult<()>;

    /// The session `id`, if open.
    async fn upload(&self, id: &str) -> StoreResult<Option<UploadSession>>;

    /// Appends chunk `part` of `size` bytes, if the session still has
    /// exactly the parts `expected` (false: it moved on or is gone).
    async fn append_upload(
        &self,
        id: &str,
        expected: &[String],
        part: &str,
        size: i64,
    ) -> StoreResult<bool>;

    /// Ends the session (to close or cancel it), if it still has exactly
    /// the parts `expected`; false when another request changed or ended
    /// it. Exactly one request ends a session.
    async fn end_upload(&self, id: &str, expected: &[String]) -> StoreResult<bool>;

    /// Ends and returns the sessions untouched since `before` (the sweeper).
    async fn take_stale_uploads(&self, before: DateTime<Utc>) -> StoreResult<Vec<UploadSession>>;

    /// Which of `ids` are open sessions.
    async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>>;

    /// How many sessions are open.
    async fn count_uploads(&self) -> StoreResult<i64>;

    /// Every server's position in the change feed.
    async fn feed_readers(&self) -> StoreResult<Vec<FeedReader>>;

    /// The connection pool's use.
    fn pool_use(&self) -> PoolUse;
}
