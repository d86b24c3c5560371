//! The change feed on SQLite: what differs from PostgreSQL (the rest is
//! `store/sql/access.rs`). SQLite's one writer keeps ids in commit order,
//! and only this process reads them.

use super::sql::access::insert_change;
use super::SqliteStore;
use crate::changes::Change;
use crate::store::StoreResult;
use sqlx::SqliteConnection;

impl SqliteStore {
    /// Writes `change` (its id is the row's) and returns it with its id.
    pub(super) async fn append_change(
        conn: &mut SqliteConnection,
        mut change: Change,
    ) -> StoreResult<Change> {
        change.id = insert_change(
            "INSERT INTO changes (org_id, customer_id, user_id, kind, artifact, tag, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &change,
        )
        .fetch_one(conn)
        .await?;
        Ok(change)
    }

    /// Publishes committed changes to this process.
    pub(super) async fn published(&self, changes: Vec<Change>) {
        for c in changes {
            self.hub.publish(c);
        }
    }
}
