//! [`UploadStore`]: each write is one conditional statement, so no lock is
//! needed (on SQLite a write waits for its turn, see `write_turn`). A
//! session is stored from its first chunk or its end; an ended one stays
//! as a tombstone (`closed_at`, no parts) until the sweeper takes it.

use super::{text, SqlStore};
use crate::store::registry::RepoId;
use crate::store::uploads::{FeedReader, PoolUse, StoredUpload, UploadSession, UploadStore};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};

type SessionRow = (String, RepoId, String, i64, String, bool);

/// The columns of a [`SessionRow`].
macro_rules! session_columns {
    () => {
        "id, repository_id, name, size, parts, closed_at IS NOT NULL"
    };
}

fn stored((id, repo, name, size, parts, ended): SessionRow) -> StoredUpload {
    if ended {
        return StoredUpload::Ended;
    }
    StoredUpload::Open(UploadSession {
        id,
        repo,
        name,
        size,
        parts: UploadSession::parse_parts(&parts),
    })
}

/// Ends a session seen without parts: stores its tombstone, unless a row
/// for the id has parts, has ended, or is another repository's. Binds: id,
/// repository, name, now.
pub(crate) const END_EMPTY: &str = "INSERT INTO upload_sessions \
       (id, repository_id, name, size, parts, started_at, touched_at, closed_at) \
     VALUES ($1, $2, $3, 0, '', $4, $4, $4) \
     ON CONFLICT (id) DO UPDATE SET touched_at = excluded.touched_at, closed_at = excluded.closed_at \
     WHERE upload_sessions.parts = '' AND upload_sessions.closed_at IS NULL \
       AND upload_sessions.name = excluded.name";

/// Ends a session seen with parts, if it still has them. Binds: id, parts
/// as text, now.
const END_PARTS: &str = "UPDATE upload_sessions \
     SET parts = '', touched_at = $3, closed_at = $3 \
     WHERE id = $1 AND parts = $2 AND closed_at IS NULL";

#[async_trait::async_trait]
impl UploadStore for SqlStore {
    async fn upload(&self, id: &str) -> StoreResult<Option<StoredUpload>> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM upload_sessions WHERE id = $1"
        ))
        .bind(text(id))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(stored))
    }

    async fn append_upload(
        &self,
        seen: &UploadSession,
        part: &str,
        size: i64,
    ) -> StoreResult<bool> {
        let mut parts = seen.parts.clone();
        parts.push(part.to_owned());
        let parts = UploadSession::parts_text(&parts);
        let now = Utc::now();
        let _turn = self.write_turn().await;
        let r = if seen.parts.is_empty() {
            // The first chunk stores the session (or fills one stored
            // without parts by an older version).
            sqlx::query(
                "INSERT INTO upload_sessions (id, repository_id, name, size, parts, started_at, touched_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (id) DO UPDATE SET parts = excluded.parts, size = excluded.size, \
                   touched_at = excluded.touched_at \
                 WHERE upload_sessions.parts = '' AND upload_sessions.closed_at IS NULL \
                   AND upload_sessions.name = excluded.name",
            )
            .bind(text(&seen.id))
            .bind(seen.repo)
            .bind(&seen.name)
            .bind(size)
            .bind(parts)
            .bind(now)
            .execute(self.pool())
            .await?
        } else {
            sqlx::query(
                "UPDATE upload_sessions SET parts = $1, size = size + $2, touched_at = $3 \
                 WHERE id = $4 AND parts = $5 AND closed_at IS NULL",
            )
            .bind(parts)
            .bind(size)
            .bind(now)
            .bind(text(&seen.id))
            .bind(UploadSession::parts_text(&seen.parts))
            .execute(self.pool())
            .await?
        };
        Ok(r.rows_affected() == 1)
    }

    async fn end_upload(&self, seen: &UploadSession) -> StoreResult<bool> {
        let now = Utc::now();
        let _turn = self.write_turn().await;
        let r = if seen.parts.is_empty() {
            sqlx::query(END_EMPTY)
                .bind(text(&seen.id))
                .bind(seen.repo)
                .bind(&seen.name)
                .bind(now)
                .execute(self.pool())
                .await?
        } else {
            sqlx::query(END_PARTS)
                .bind(text(&seen.id))
                .bind(UploadSession::parts_text(&seen.parts))
                .bind(now)
                .execute(self.pool())
                .await?
        };
        Ok(r.rows_affected() == 1)
    }

    async fn end_upload_linking(
        &self,
        seen: &UploadSession,
        digest: &str,
        size: i64,
    ) -> StoreResult<bool> {
        if !seen.parts.is_empty() {
            return Err(StoreError::internal(
                "end_upload_linking is for a session with no stored chunk",
            ));
        }
        // The backend's own (SQLite: one call; PostgreSQL: a transaction).
        SqlStore::end_upload_linking(self, seen, digest, size).await
    }

    async fn take_stale_uploads(
        &self,
        before: DateTime<Utc>,
        ended_before: DateTime<Utc>,
    ) -> StoreResult<Vec<UploadSession>> {
        let _turn = self.write_turn().await;
        // (A tombstone's touched_at is when it ended.)
        let rows: Vec<SessionRow> = sqlx::query_as(concat!(
            "DELETE FROM upload_sessions \
             WHERE touched_at < $1 AND (closed_at IS NULL OR touched_at < $2) RETURNING ",
            session_columns!()
        ))
        .bind(before)
        .bind(ended_before.min(before))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match stored(row) {
                StoredUpload::Open(s) => Some(s),
                StoredUpload::Ended => None,
            })
            .collect())
    }

    async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        // The backend's own (a list parameter differs).
        SqlStore::open_upload_ids(self, ids).await
    }

    async fn count_uploads(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM upload_sessions WHERE closed_at IS NULL")
                .fetch_one(self.pool())
                .await?,
        )
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
