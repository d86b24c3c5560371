//! Uploads on PostgreSQL: what differs from SQLite (the rest is
//! `store/sql/uploads.rs`).

use super::sql::uploads::END_EMPTY;
use super::{text, PgStore};
use crate::store::uploads::UploadSession;
use crate::store::StoreResult;
use chrono::Utc;

impl PgStore {
    /// Ends an upload seen without parts and links its blob in one
    /// transaction: the end first (it waits for, or conflicts with, a
    /// concurrent one), then the blob and its link only if this request
    /// ended it.
    pub(super) async fn end_upload_linking(
        &self,
        seen: &UploadSession,
        digest: &str,
        size: i64,
    ) -> StoreResult<bool> {
        let now = Utc::now();
        let mut tx = self.pool().begin().await?;
        let ended = sqlx::query(END_EMPTY)
            .bind(text(&seen.id))
            .bind(seen.repo)
            .bind(&seen.name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if ended.rows_affected() != 1 {
            return Ok(false); // dropped: rolled back
        }
        super::registry::record_and_link_blob(&mut tx, seen.repo, digest, size, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Which of `ids` are open upload sessions: one array parameter.
    pub(super) async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM upload_sessions WHERE closed_at IS NULL AND id = ANY($1)",
        )
        .bind(ids.iter().map(|i| text(i).into_owned()).collect::<Vec<_>>())
        .fetch_all(self.pool())
        .await?)
    }
}
