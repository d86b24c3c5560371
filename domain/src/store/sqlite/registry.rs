//! The registry on SQLite: what differs from PostgreSQL (the rest is
//! `store/sql/registry.rs`).

use super::SqliteStore;
use crate::store::registry::RepoId;
use crate::store::StoreResult;
use chrono::Utc;

impl SqliteStore {
    /// Links a blob to a repository, recording the blob first.
    pub(super) async fn link_blob(&self, repo: RepoId, digest: &str, size: i64) -> StoreResult<()> {
        // Two statements in one call (one trip to the database thread), each
        // its own commit: the blob first, then the link (a blob row without
        // a link, should the process die in between, is harmless).
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO blobs (digest, size, created_at) VALUES (?1, ?2, ?3) \
               ON CONFLICT (digest) DO NOTHING; \
             INSERT INTO repository_blobs (repository_id, digest) VALUES (?4, ?1) \
               ON CONFLICT DO NOTHING",
        )
        .bind(digest)
        .bind(size)
        .bind(Utc::now())
        .bind(repo)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
