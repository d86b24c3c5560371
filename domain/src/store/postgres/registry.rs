//! The registry on PostgreSQL: what differs from SQLite (the rest is
//! `store/sql/registry.rs`).

use super::PgStore;
use crate::store::registry::RepoId;
use crate::store::StoreResult;
use chrono::Utc;

impl PgStore {
    /// Links a blob to a repository, recording the blob first.
    pub(super) async fn link_blob(&self, repo: RepoId, digest: &str, size: i64) -> StoreResult<()> {
        // The blob first, then the link, each its own commit (a blob row
        // without a link, should the process die in between, is harmless).
        sqlx::query(
            "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) \
               ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest)
        .bind(size)
        .bind(Utc::now())
        .execute(self.pool())
        .await?;
        sqlx::query(
            "INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2) \
               ON CONFLICT DO NOTHING",
        )
        .bind(repo)
        .bind(digest)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
