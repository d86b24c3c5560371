//! The change feed on PostgreSQL: what differs from SQLite (the rest is
//! `store/sql/access.rs`). Each appended row takes the feed's advisory lock
//! and is announced with NOTIFY; a writer may wait for the other servers to
//! apply it.

use super::sql::access::insert_change;
use super::PgStore;
use crate::changes::Change;
use crate::store::access::AccessStore as _;
use crate::store::StoreResult;
use chrono::Utc;
use sqlx::PgConnection;

/// The channel a committed change is announced on (`NOTIFY`, payload: its
/// id): the change feed's readers `LISTEN` to it.
pub const CHANGES_CHANNEL: &str = "portcullis_changes";

/// The transaction-level advisory lock every change-feed writer holds from
/// its row's insert to its commit: ids are taken and committed in the same
/// order, so a reader that has seen id n never later finds a smaller one
/// (SQLite gets this from its single writer).
const FEED_LOCK: i64 = 0x5043_4c02;

impl PgStore {
    /// Writes `change` (its id is the row's) and returns it with its id; the
    /// commit notifies [`CHANGES_CHANNEL`].
    pub(super) async fn append_change(
        conn: &mut PgConnection,
        mut change: Change,
    ) -> StoreResult<Change> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FEED_LOCK)
            .execute(&mut *conn)
            .await?;
        change.id = insert_change(
            "WITH c AS (INSERT INTO changes (org_id, customer_id, user_id, kind, artifact, tag, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id) \
             SELECT c.id FROM c, LATERAL (SELECT pg_notify($8, c.id::text)) n",
            &change,
        )
        .bind(CHANGES_CHANNEL)
        .fetch_one(conn)
        .await?;
        Ok(change)
    }

    /// Publishes committed changes to this process, then (when the store
    /// is set to, see [`PgStore::wait_for_readers`]) waits until every live
    /// server has applied them: the writer answers only once its change is
    /// in effect on every instance.
    pub(super) async fn published(&self, changes: Vec<Change>) {
        let last = changes.last().map(|c| c.id);
        for c in changes {
            self.hub.publish(c);
        }
        if let (Some(id), Some(wait)) = (last, self.readers) {
            self.await_readers(id, wait).await;
        }
    }

    async fn await_readers(&self, id: i64, wait: super::ReaderWait) {
        let deadline = tokio::time::Instant::now() + wait.timeout;
        loop {
            let alive_since = Utc::now()
                - chrono::Duration::from_std(wait.alive).unwrap_or(chrono::Duration::zero());
            match self.all_applied(id, alive_since).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "waiting for the change feed's readers failed");
                    return;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(change = id, "not every server applied a change in time");
                return;
            }
            tokio::time::sleep(wait.poll).await;
        }
    }
}
