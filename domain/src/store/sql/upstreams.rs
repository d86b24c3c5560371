//! [`UpstreamStore`] (SQLite migration `0012_upstreams.sql`, PostgreSQL
//! `0003_upstreams.sql`). The lease is one conditional `UPDATE … WHERE
//! lease_until IS NULL OR lease_until < now`, whose returned row says who
//! got it: SQLite has one writer at a time; on PostgreSQL, under READ
//! COMMITTED, a concurrent `UPDATE` of the row waits for the first one and
//! re-checks the condition against the row it wrote, so of several
//! instances one gets it. A write that changes an upstream (created,
//! updated, deleted, "Sync now") or moves its sync on (lease taken,
//! progress, end) notes a change of kind `Upstream` in the same
//! transaction (`commit_change`).

use super::{text, Conn, Db, SqlStore};
use crate::audit::Actor;
use crate::changes::ChangeKind;
use crate::store::rows::{settings, UpstreamRow, UPSTREAM_COLUMNS};
use crate::store::upstreams::{
    SealedSecret, SecretChange, SyncOutcome, UpstreamRecord, UpstreamStore,
};
use crate::store::{StoreError, StoreResult};
use crate::upstreams::{Upstream, ValidUpstream};
use crate::{OrgId, UpstreamId};
use chrono::Utc;
use sqlx::Transaction;

async fn record_event(
    conn: &mut Conn,
    org_id: OrgId,
    id: UpstreamId,
    by: &Actor,
    action: &str,
    before: Option<&Upstream>,
    after: Option<&Upstream>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO upstream_events (org_id, upstream_id, actor_user_id, actor, action, before, after, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(org_id)
    .bind(id)
    .bind(by.user_id)
    .bind(&by.email)
    .bind(action)
    .bind(before.map(|u| settings(u).to_string()))
    .bind(after.map(|u| settings(u).to_string()))
    .bind(Utc::now())
    .execute(conn)
    .await?;
    Ok(())
}

/// The org's upstream `id`; `lock` takes its row lock (PostgreSQL's `FOR
/// UPDATE`) for a read-then-write.
async fn fetch(
    conn: &mut Conn,
    org_id: OrgId,
    id: UpstreamId,
    lock: bool,
) -> StoreResult<UpstreamRecord> {
    let row: UpstreamRow = sqlx::query_as(&format!(
        "SELECT {UPSTREAM_COLUMNS} FROM upstreams WHERE org_id = $1 AND id = $2{}",
        if lock { SqlStore::FOR_UPDATE } else { "" }
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(row.into())
}

impl SqlStore {
    /// Ends `tx`, whose write changed an upstream of `org` or moved its
    /// sync on (`None`: it changed nothing), with a row in the change feed, so
    /// that the org's vendor pages (live updates) refetch.
    async fn commit_upstream(
        &self,
        tx: Transaction<'_, Db>,
        org: Option<OrgId>,
    ) -> StoreResult<()> {
        match org {
            Some(org) => {
                self.commit_change(tx, org, (None, None), ChangeKind::Upstream)
                    .await
            }
            None => Ok(tx.commit().await?),
        }
    }
}

#[async_trait::async_trait]
impl UpstreamStore for SqlStore {
    async fn create_upstream(
        &self,
        org_id: OrgId,
        u: &ValidUpstream,
        secret: Option<SealedSecret>,
        due: i64,
        by: &Actor,
    ) -> StoreResult<Option<UpstreamRecord>> {
        let mut tx = self.begin_write().await?;
        let id: Option<UpstreamId> = sqlx::query_scalar(
            "INSERT INTO upstreams (org_id, artifact, url, repository, username, secret, tags, \
             interval_minutes, mirror_deletions, next_sync_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (org_id, artifact) DO NOTHING RETURNING id",
        )
        .bind(org_id)
        .bind(&u.artifact)
        .bind(u.url.to_string())
        .bind(&u.repository)
        .bind(&u.username)
        .bind(secret.map(|s| s.0))
        .bind(u.tags.to_json())
        .bind(u.interval_minutes)
        .bind(u.mirror_deletions)
        .bind(due)
        .bind(Utc::now())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        let created = fetch(&mut tx, org_id, id, false).await?;
        record_event(
            &mut tx,
            org_id,
            id,
            by,
            "created",
            None,
            Some(&created.view),
        )
        .await?;
        self.commit_upstream(tx, Some(org_id)).await?;
        Ok(Some(created))
    }

    async fn upstreams(&self, org_id: OrgId) -> StoreResult<Vec<UpstreamRecord>> {
        let rows: Vec<UpstreamRow> = sqlx::query_as(&format!(
            "SELECT {UPSTREAM_COLUMNS} FROM upstreams WHERE org_id = $1 ORDER BY artifact"
        ))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn upstream(&self, org_id: OrgId, id: UpstreamId) -> StoreResult<UpstreamRecord> {
        let mut conn = self.pool().acquire().await?;
        fetch(&mut conn, org_id, id, false).await
    }

    async fn upstream_of_artifact(
        &self,
        org_id: OrgId,
        artifact: &str,
    ) -> StoreResult<Option<UpstreamRecord>> {
        let row: Option<UpstreamRow> = sqlx::query_as(&format!(
            "SELECT {UPSTREAM_COLUMNS} FROM upstreams WHERE org_id = $1 AND artifact = $2"
        ))
        .bind(org_id)
        .bind(text(artifact))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(Into::into))
    }

    async fn upstream_by_id(&self, id: UpstreamId) -> StoreResult<Option<UpstreamRecord>> {
        let row: Option<UpstreamRow> = sqlx::query_as(&format!(
            "SELECT {UPSTREAM_COLUMNS} FROM upstreams WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(Into::into))
    }

    async fn update_upstream(
        &self,
        org_id: OrgId,
        id: UpstreamId,
        u: &ValidUpstream,
        secret: SecretChange,
        by: &Actor,
    ) -> StoreResult<UpstreamRecord> {
        let mut tx = self.begin_write().await?;
        // Locked: the kept secret and the event's "before" are the row's.
        let before = fetch(&mut tx, org_id, id, true).await?;
        let secret = match secret {
            SecretChange::Keep => before.secret.clone().map(|s| s.0),
            SecretChange::Clear => None,
            SecretChange::Set(s) => Some(s.0),
        };
        sqlx::query(
            "UPDATE upstreams SET url = $1, repository = $2, username = $3, secret = $4, tags = $5, \
             interval_minutes = $6, mirror_deletions = $7 WHERE org_id = $8 AND id = $9",
        )
        .bind(u.url.to_string())
        .bind(&u.repository)
        .bind(&u.username)
        .bind(secret)
        .bind(u.tags.to_json())
        .bind(u.interval_minutes)
        .bind(u.mirror_deletions)
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = fetch(&mut tx, org_id, id, false).await?;
        record_event(
            &mut tx,
            org_id,
            id,
            by,
            "updated",
            Some(&before.view),
            Some(&after.view),
        )
        .await?;
        self.commit_upstream(tx, Some(org_id)).await?;
        Ok(after)
    }

    async fn delete_upstream(&self, org_id: OrgId, id: UpstreamId, by: &Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let before = fetch(&mut tx, org_id, id, true).await?;
        sqlx::query("DELETE FROM upstreams WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record_event(&mut tx, org_id, id, by, "deleted", Some(&before.view), None).await?;
        self.commit_upstream(tx, Some(org_id)).await?;
        Ok(())
    }

    async fn request_sync(
        &self,
        org_id: OrgId,
        id: UpstreamId,
        now: i64,
        by: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE upstreams SET next_sync_at = $1 WHERE org_id = $2 AND id = $3")
                .bind(now)
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        record_event(&mut tx, org_id, id, by, "sync_requested", None, None).await?;
        self.commit_upstream(tx, Some(org_id)).await?;
        Ok(())
    }

    async fn due_upstreams(&self, now: i64, limit: i64) -> StoreResult<Vec<UpstreamId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM upstreams WHERE next_sync_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_sync_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    async fn take_upstream_lease(
        &self,
        id: UpstreamId,
        owner: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<bool> {
        // Renewal first: it keeps the progress.
        let renewed = sqlx::query(
            "UPDATE upstreams SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 \
             AND lease_until IS NOT NULL AND lease_until >= $4",
        )
        .bind(until)
        .bind(id)
        .bind(text(owner))
        .bind(now)
        .execute(self.pool())
        .await?;
        if renewed.rows_affected() == 1 {
            return Ok(true);
        }
        let mut tx = self.begin_write().await?;
        let org: Option<OrgId> = sqlx::query_scalar(
            "UPDATE upstreams SET lease_owner = $1, lease_until = $2, state = 'syncing', \
             tags_done = 0, tags_total = 0, bytes_done = 0 \
             WHERE id = $3 AND (lease_until IS NULL OR lease_until < $4) RETURNING org_id",
        )
        .bind(text(owner))
        .bind(until)
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let taken = org.is_some();
        self.commit_upstream(tx, org).await?;
        Ok(taken)
    }

    async fn set_sync_progress(
        &self,
        id: UpstreamId,
        owner: &str,
        tags_done: i64,
        tags_total: i64,
        bytes: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let org: Option<OrgId> = sqlx::query_scalar(
            "UPDATE upstreams SET tags_done = $1, tags_total = $2, bytes_done = $3 \
             WHERE id = $4 AND lease_owner = $5 RETURNING org_id",
        )
        .bind(tags_done)
        .bind(tags_total)
        .bind(bytes)
        .bind(id)
        .bind(text(owner))
        .fetch_optional(&mut *tx)
        .await?;
        self.commit_upstream(tx, org).await
    }

    async fn finish_sync(
        &self,
        id: UpstreamId,
        owner: &str,
        outcome: &SyncOutcome,
    ) -> StoreResult<()> {
        let state = if outcome.error.is_some() {
            "failed"
        } else {
            "idle"
        };
        let mut tx = self.begin_write().await?;
        let org: Option<OrgId> = sqlx::query_scalar(
            "UPDATE upstreams SET state = $1, last_error = $2, \
             last_synced_at = CASE WHEN $3 THEN $4 ELSE last_synced_at END, \
             tags_synced = $5, next_sync_at = $6, lease_owner = NULL, lease_until = NULL \
             WHERE id = $7 AND lease_owner = $8 RETURNING org_id",
        )
        .bind(state)
        .bind(outcome.error.as_deref().map(text))
        .bind(outcome.error.is_none())
        .bind(outcome.at)
        .bind(serde_json::to_string(&outcome.tags_synced).unwrap_or_else(|_| "[]".into()))
        .bind(outcome.next_sync_at)
        .bind(id)
        .bind(text(owner))
        .fetch_optional(&mut *tx)
        .await?;
        self.commit_upstream(tx, org).await
    }
}
