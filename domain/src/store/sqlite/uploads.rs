//! Uploads on SQLite: what differs from PostgreSQL (the rest is
//! `store/sql/uploads.rs`).

use super::SqliteStore;
use crate::store::StoreResult;

impl SqliteStore {
    /// Which of `ids` are open upload sessions: SQLite has no array
    /// parameter, so a list of placeholders per chunk of ids.
    pub(super) async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut open = Vec::new();
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT id FROM upload_sessions WHERE id IN ({marks})");
            let mut q = sqlx::query_scalar::<_, String>(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            open.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(open)
    }
}
