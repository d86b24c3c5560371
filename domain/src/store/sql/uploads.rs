//! [`UploadStore`]: each write is one conditional statement, so no lock is
//! needed (on SQLite a write waits for its turn, see `write_turn`).

use super::{text, SqlStore};
use crate::store::registry::RepoId;
use crate::store::uploads::{FeedReader, PoolUse, UploadSession, UploadStore};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};

type SessionRow = (String, RepoId, String, i64, String);

fn session((id, repo, name, size, parts): SessionRow) -> UploadSession {
    UploadSession {
        id,
        repo,
        name,
        size,
        parts: UploadSession::parse_parts(&parts),
    }
}

#[async_trait::async_trait]
impl UploadStore for SqlStore {
    async fn create_upload(&self, id: &str, repo: RepoId, name: &str) -> StoreResult<()> {
        let now = Utc::now();
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO upload_sessions (id, repository_id, name, size, parts, started_at, touched_at) \
             VALUES ($1, $2, $3, 0, '', $4, $4)",
        )
        .bind(id)
        .bind(repo)
        .bind(name)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn upload(&self, id: &str) -> StoreResult<Option<UploadSession>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT id, repository_id, name, size, parts FROM upload_sessions WHERE id = $1",
        )
        .bind(text(id))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(session))
    }

    async fn append_upload(
        &self,
        id: &str,
        expected: &[String],
        part: &str,
        size: i64,
    ) -> StoreResult<bool> {
        let mut parts = expected.to_vec();
        parts.push(part.to_owned());
        let _turn = self.write_turn().await;
        let r = sqlx::query(
            "UPDATE upload_sessions SET parts = $1, size = size + $2, touched_at = $3 \
             WHERE id = $4 AND parts = $5",
        )
        .bind(UploadSession::parts_text(&parts))
        .bind(size)
        .bind(Utc::now())
        .bind(text(id))
        .bind(UploadSession::parts_text(expected))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn end_upload(&self, id: &str, expected: &[String]) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let r = sqlx::query("DELETE FROM upload_sessions WHERE id = $1 AND parts = $2")
            .bind(text(id))
            .bind(UploadSession::parts_text(expected))
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn take_stale_uploads(&self, before: DateTime<Utc>) -> StoreResult<Vec<UploadSession>> {
        let _turn = self.write_turn().await;
        let rows: Vec<SessionRow> = sqlx::query_as(
            "DELETE FROM upload_sessions WHERE touched_at < $1 \
             RETURNING id, repository_id, name, size, parts",
        )
        .bind(before)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(session).collect())
    }

    async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        // The backend's own (a list parameter differs).
        SqlStore::open_upload_ids(self, ids).await
    }

    async fn count_uploads(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM upload_sessions")
            .fetch_one(self.pool())
            .await?)
    }

    async fn feed_readers(&self) -> StoreResult<Vec<FeedReader>> {
        let rows: Vec<(String, i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT instance, applied_id, seen_at FROM change_readers ORDER BY instance",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(instance, applied_id, seen_at)| FeedReader {
                instance,
                applied_id,
                seen_at,
            })
            .collect())
    }

    fn pool_use(&self) -> PoolUse {
        let pool = self.pool();
        PoolUse {
            size: pool.size(),
            idle: pool.num_idle() as u32,
            max: pool.options().get_max_connections(),
        }
    }
}
