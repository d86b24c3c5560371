//! [`UploadStore`] for SQLite.

use super::SqliteStore;
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
impl UploadStore for SqliteStore {
    async fn create_upload(&self, id: &str, repo: RepoId, name: &str) -> StoreResult<()> {
        let now = Utc::now();
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO upload_sessions (id, repository_id, name, size, parts, started_at, touched_at) \
             VALUES (?, ?, ?, 0, '', ?, ?)",
        )
        .bind(id)
        .bind(repo)
        .bind(name)
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn upload(&self, id: &str) -> StoreResult<Option<UploadSession>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT id, repository_id, name, size, parts FROM upload_sessions WHERE id = ?",
        )
        .bind(id)
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
            "UPDATE upload_sessions SET parts = ?, size = size + ?, touched_at = ? \
             WHERE id = ? AND parts = ?",
        )
        .bind(UploadSession::parts_text(&parts))
        .bind(size)
        .bind(Utc::now())
        .bind(id)
        .bind(UploadSession::parts_text(expected))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn end_upload(&self, id: &str, expected: &[String]) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let r = sqlx::query("DELETE FROM upload_sessions WHERE id = ? AND parts = ?")
            .bind(id)
            .bind(UploadSession::parts_text(expected))
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn take_stale_uploads(&self, before: DateTime<Utc>) -> StoreResult<Vec<UploadSession>> {
        let _turn = self.write_turn().await;
        let rows: Vec<SessionRow> = sqlx::query_as(
            "DELETE FROM upload_sessions WHERE touched_at < ? \
             RETURNING id, repository_id, name, size, parts",
        )
        .bind(before)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(session).collect())
    }

    async fn open_upload_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::fixture::Fixture;
    use crate::store::RegistryStore;

    #[tokio::test]
    async fn sessions_append_once_and_end_once() {
        let f = Fixture::new().await;
        let (org, _) = f.add_org("acme").await;
        let store: &SqliteStore = &f;
        let repo = store.ensure_repo(org.id, "web").await.unwrap();
        store
            .create_upload("u1", repo.id, "acme/web")
            .await
            .unwrap();
        let s = store.upload("u1").await.unwrap().unwrap();
        assert_eq!((s.size, s.parts.len(), s.name.as_str()), (0, 0, "acme/web"));
        // Two appends that both read the empty session: one wins.
        assert!(store.append_upload("u1", &[], "a", 10).await.unwrap());
        assert!(!store.append_upload("u1", &[], "b", 5).await.unwrap());
        let parts = vec!["a".to_owned()];
        assert!(store.append_upload("u1", &parts, "c", 5).await.unwrap());
        let s = store.upload("u1").await.unwrap().unwrap();
        assert_eq!(
            (s.size, s.parts),
            (15, vec!["a".to_owned(), "c".to_owned()])
        );
        assert_eq!(store.count_uploads().await.unwrap(), 1);
        assert_eq!(
            store
                .open_upload_ids(&["u1".into(), "u2".into()])
                .await
                .unwrap(),
            vec!["u1".to_owned()]
        );
        // Ending with a stale view fails; with the current one, once.
        assert!(!store.end_upload("u1", &parts).await.unwrap());
        let both = vec!["a".to_owned(), "c".to_owned()];
        assert!(store.end_upload("u1", &both).await.unwrap());
        assert!(!store.end_upload("u1", &both).await.unwrap());
        assert!(store.upload("u1").await.unwrap().is_none());
        // Stale sessions are taken once.
        store
            .create_upload("u3", repo.id, "acme/web")
            .await
            .unwrap();
        let later = Utc::now() + chrono::Duration::seconds(1);
        let stale = store.take_stale_uploads(later).await.unwrap();
        assert_eq!(stale.len(), 1);
        assert!(store.take_stale_uploads(later).await.unwrap().is_empty());
        assert_eq!(store.count_uploads().await.unwrap(), 0);
        assert!(store.pool_use().max >= 1);
    }
}
