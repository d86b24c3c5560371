//! Uploads on PostgreSQL: what differs from SQLite (the rest is
//! `store/sql/uploads.rs`).

use super::{text, PgStore};
use crate::store::StoreResult;

impl PgStore {
    /// Which of `ids` are open upload sessions: one array parameter.
    pub(super) async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM upload_sessions WHERE id = ANY($1)")
                .bind(ids.iter().map(|i| text(i).into_owned()).collect::<Vec<_>>())
                .fetch_all(self.pool())
                .await?,
        )
    }
}
