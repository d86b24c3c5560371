//! Upstreams for SQLite (migration `0012_upstreams.sql`). The SQL is
//! portable (only `?` placeholders and `AUTOINCREMENT` differ from
//! PostgreSQL): the lease is one conditional `UPDATE … WHERE lease_until IS
//! NULL OR lease_until < now OR lease_owner = me`, whose row count says who
//! got it. The PostgreSQL port is `postgres/upstreams.rs`; both are tested
//! by the contract suite (`contract/upstreams.rs`).

use super::access::note_change;
use super::SqliteStore;
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
use sqlx::SqliteConnection;

async fn record_event(
    conn: &mut SqliteConnection,
    org_id: OrgId,
    id: UpstreamId,
    by: &Actor,
    action: &str,
    before: Option<&Upstream>,
    after: Option<&Upstream>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO upstream_events (org_id, upstream_id, actor_user_id, actor, action, before, after, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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

async fn fetch(
    conn: &mut SqliteConnection,
    org_id: OrgId,
    id: UpstreamId,
) -> StoreResult<UpstreamRecord> {
    let row: UpstreamRow = sqlx::query_as(&format!(
        "SELECT {UPSTREAM_COLUMNS} FROM upstreams WHERE org_id = ? AND id = ?"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(row.into())
}

impl SqliteStore {
    /// Tells the org's vendor pages (live updates) that an upstream's sync
    /// moved on: a row in the change feed, published after its commit.
    async fn note_upstream(&self, id: UpstreamId) -> StoreResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let org: Option<OrgId> = sqlx::query_scalar("SELECT org_id FROM upstreams WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(org) = org else {
            return Ok(());
        };
        self.commit_upstream(tx, org).await
    }

    /// Ends `tx`, which changed an upstream of `org` or moved its sync on,
    /// with a row in the change feed, published after the commit, so that
    /// the org's vendor pages (live updates) refetch.
    async fn commit_upstream(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Sqlite>,
        org: OrgId,
    ) -> StoreResult<()> {
        let change = note_change(&mut tx, org, None, None, ChangeKind::Upstream).await?;
        tx.commit().await?;
        self.published([change]);
        Ok(())
    }
}

#[async_trait::async_trait]
impl UpstreamStore for SqliteStore {
    async fn create_upstream(
        &self,
        org_id: OrgId,
        u: &ValidUpstream,
        secret: Option<SealedSecret>,
        due: i64,
        by: &Actor,
    ) -> StoreResult<Option<UpstreamRecord>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id: Option<UpstreamId> = sqlx::query_scalar(
            "INSERT INTO upstreams (org_id, artifact, url, repository, username, secret, tags, \
             interval_minutes, mirror_deletions, next_sync_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
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
        let created = fetch(&mut tx, org_id, id).await?;
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
        self.commit_upstream(tx, org_id).await?;
        Ok(Some(created))
    }

    async fn upstreams(&self, org_id: OrgId) -> StoreResult<Vec<UpstreamRecord>> {
        let rows: Vec<UpstreamRow> = sqlx::query_as(&format!(
            "SELECT {UPSTREAM_COLUMNS} FROM upstreams WHERE org_id = ? ORDER BY artifact"
        ))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn upstream(&self, org_id: OrgId, id: UpstreamId) -> StoreResult<UpstreamRecord> {
        let mut conn = self.pool().acquire().await?;
        fetch(&mut conn, org_id, id).await
    }

    async fn upstream_of_artifact(
        &self,
        org_id: OrgId,
        artifact: &str,
    ) -> StoreResult<Option<UpstreamRecord>> {
        let row: Option<UpstreamRow> = sqlx::query_as(&format!(
            "SELECT {UPSTREAM_COLUMNS} FROM upstreams WHERE org_id = ? AND artifact = ?"
        ))
        .bind(org_id)
        .bind(artifact)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(Into::into))
    }

    async fn upstream_by_id(&self, id: UpstreamId) -> StoreResult<Option<UpstreamRecord>> {
        let row: Option<UpstreamRow> = sqlx::query_as(&format!(
            "SELECT {UPSTREAM_COLUMNS} FROM upstreams WHERE id = ?"
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before = fetch(&mut tx, org_id, id).await?;
        let secret = match secret {
            SecretChange::Keep => before.secret.clone().map(|s| s.0),
            SecretChange::Clear => None,
            SecretChange::Set(s) => Some(s.0),
        };
        sqlx::query(
            "UPDATE upstreams SET url = ?, repository = ?, username = ?, secret = ?, tags = ?, \
             interval_minutes = ?, mirror_deletions = ? WHERE org_id = ? AND id = ?",
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
        let after = fetch(&mut tx, org_id, id).await?;
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
        self.commit_upstream(tx, org_id).await?;
        Ok(after)
    }

    async fn delete_upstream(&self, org_id: OrgId, id: UpstreamId, by: &Actor) -> StoreResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before = fetch(&mut tx, org_id, id).await?;
        sqlx::query("DELETE FROM upstreams WHERE org_id = ? AND id = ?")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record_event(&mut tx, org_id, id, by, "deleted", Some(&before.view), None).await?;
        self.commit_upstream(tx, org_id).await?;
        Ok(())
    }

    async fn request_sync(
        &self,
        org_id: OrgId,
        id: UpstreamId,
        now: i64,
        by: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query("UPDATE upstreams SET next_sync_at = ? WHERE org_id = ? AND id = ?")
            .bind(now)
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        record_event(&mut tx, org_id, id, by, "sync_requested", None, None).await?;
        self.commit_upstream(tx, org_id).await?;
        Ok(())
    }

    async fn due_upstreams(&self, now: i64, limit: i64) -> StoreResult<Vec<UpstreamId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM upstreams WHERE next_sync_at <= ? \
             AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_sync_at, id LIMIT ?",
        )
        .bind(now)
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
            "UPDATE upstreams SET lease_until = ? WHERE id = ? AND lease_owner = ? \
             AND lease_until IS NOT NULL AND lease_until >= ?",
        )
        .bind(until)
        .bind(id)
        .bind(owner)
        .bind(now)
        .execute(self.pool())
        .await?;
        if renewed.rows_affected() == 1 {
            return Ok(true);
        }
        let taken = sqlx::query(
            "UPDATE upstreams SET lease_owner = ?, lease_until = ?, state = 'syncing', \
             tags_done = 0, tags_total = 0, bytes_done = 0 \
             WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)",
        )
        .bind(owner)
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(false);
        }
        self.note_upstream(id).await?;
        Ok(true)
    }

    async fn set_sync_progress(
        &self,
        id: UpstreamId,
        owner: &str,
        tags_done: i64,
        tags_total: i64,
        bytes: i64,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE upstreams SET tags_done = ?, tags_total = ?, bytes_done = ? \
             WHERE id = ? AND lease_owner = ?",
        )
        .bind(tags_done)
        .bind(tags_total)
        .bind(bytes)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            self.note_upstream(id).await?;
        }
        Ok(())
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
        let done = sqlx::query(
            "UPDATE upstreams SET state = ?, last_error = ?, \
             last_synced_at = CASE WHEN ? THEN ? ELSE last_synced_at END, \
             tags_synced = ?, next_sync_at = ?, lease_owner = NULL, lease_until = NULL \
             WHERE id = ? AND lease_owner = ?",
        )
        .bind(state)
        .bind(&outcome.error)
        .bind(outcome.error.is_none())
        .bind(outcome.at)
        .bind(serde_json::to_string(&outcome.tags_synced).unwrap_or_else(|_| "[]".into()))
        .bind(outcome.next_sync_at)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            self.note_upstream(id).await?;
        }
        Ok(())
    }
}
