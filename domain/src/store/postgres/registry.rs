//! The registry on PostgreSQL: what differs from SQLite (the rest is
//! `store/sql/registry.rs`).

use super::PgStore;
use crate::store::registry::RepoId;
use crate::store::StoreResult;
use chrono::{DateTime, Utc};

impl PgStore {
    /// Links a blob to a repository, recording the blob first.
    pub(super) async fn link_blob(&self, repo: RepoId, digest: &str, size: i64) -> StoreResult<()> {
        // Each its own commit (a blob row without a link, should the
        // process die in between, is harmless).
        let mut conn = self.pool().acquire().await?;
        record_and_link_blob(&mut conn, repo, digest, size, Utc::now()).await
    }
}

/// Records blob `digest` (if new), then links it to repository `repo`, on
/// `conn` (in the caller's transaction, if it has one).
pub(super) async fn record_and_link_blob(
    conn: &mut sqlx::PgConnection,
    repo: RepoId,
    digest: &str,
    size: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) \
           ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest)
    .bind(size)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2) \
           ON CONFLICT DO NOTHING",
    )
    .bind(repo)
    .bind(digest)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
