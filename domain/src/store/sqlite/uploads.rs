//! Uploads on SQLite: what differs from PostgreSQL (the rest is
//! `store/sql/uploads.rs`).

use super::sql::uploads::END_EMPTY;
use super::SqliteStore;
use crate::store::uploads::UploadSession;
use crate::store::{StoreError, StoreResult};
use chrono::Utc;

/// `end_upload_linking` as one call: in one transaction, the blob and its
/// link if the session can be ended (`END_EMPTY`'s condition, the other
/// way round), then `END_EMPTY` itself, whose `RETURNING` says whether it
/// happened. Binds: id, repository, name, now (as `END_EMPTY`), digest, size.
static END_EMPTY_LINKING: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let endable = "NOT EXISTS (SELECT 1 FROM upload_sessions WHERE id = $1 \
                   AND (parts <> '' OR closed_at IS NOT NULL OR name <> $3))";
    format!(
        "BEGIN IMMEDIATE; \
         INSERT INTO blobs (digest, size, created_at) SELECT $5, $6, $4 WHERE {endable} \
           ON CONFLICT (digest) DO NOTHING; \
         INSERT INTO repository_blobs (repository_id, digest) SELECT $2, $5 WHERE {endable} \
           ON CONFLICT DO NOTHING; \
         {END_EMPTY} RETURNING id; \
         COMMIT"
    )
});

impl SqliteStore {
    /// Ends an upload seen without parts (the caller checked) and links
    /// its blob in one trip
    /// to the database thread (one transaction: all of it or nothing).
    /// The call runs in a task of its own, so that it finishes (through
    /// `COMMIT`) even when the request waiting for it goes away; should a
    /// statement fail, the transaction is rolled back on the same
    /// connection (or the connection is closed) before the error returns.
    pub(super) async fn end_upload_linking(
        &self,
        seen: &UploadSession,
        digest: &str,
        size: i64,
    ) -> StoreResult<bool> {
        let (id, repo, name) = (seen.id.clone(), seen.repo, seen.name.clone());
        let (digest, now) = (digest.to_owned(), Utc::now());
        let pool = self.pool().clone();
        let turn = self.write_turn.clone();
        let call = tokio::spawn(async move {
            let _turn = turn.lock().await;
            let mut conn = pool.acquire().await?;
            let q = sqlx::query(END_EMPTY_LINKING.as_str())
                .bind(id)
                .bind(repo)
                .bind(name)
                .bind(now)
                .bind(digest)
                .bind(size);
            match q.fetch_all(&mut *conn).await {
                Ok(ended) => Ok(!ended.is_empty()),
                Err(e) => {
                    if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                        conn.close_on_drop();
                    }
                    Err(e.into())
                }
            }
        });
        call.await.map_err(StoreError::internal)?
    }

    /// Which of `ids` are open upload sessions: SQLite has no array
    /// parameter, so a list of placeholders per chunk of ids.
    pub(super) async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut open = Vec::new();
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT id FROM upload_sessions WHERE closed_at IS NULL AND id IN ({marks})"
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            open.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(open)
    }
}
