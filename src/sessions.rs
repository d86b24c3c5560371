//! The session store: tower-sessions' SQLite store (table `sessions`), whose
//! rows also name the user each session signs in (`sessions.user_id`,
//! migration 0008). That column's foreign key deletes a removed user's
//! sessions (and, through the user, a deleted customer's) in the removal's
//! own transaction; a role or password change deletes them with the epoch
//! bump (`domain::store` `end_sessions`).
//!
//! A session row is written only while its user exists with the session's
//! epoch: a request that began before the user was removed or its role
//! changed does not bring the session back when it saves.

use async_trait::async_trait;
use services::session::{SessionUser, SESSION_USER_KEY};
use sqlx::SqlitePool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::SqliteStore;

/// The session table.
pub const TABLE: &str = "sessions";

#[derive(Clone, Debug)]
pub struct UserSessions {
    inner: SqliteStore,
    pool: SqlitePool,
}

impl UserSessions {
    pub fn new(pool: SqlitePool) -> anyhow::Result<Self> {
        let inner = SqliteStore::new(pool.clone())
            .with_table_name(TABLE)
            .map_err(|e| anyhow::anyhow!("session store: {e}"))?;
        Ok(Self { inner, pool })
    }

    /// tower-sessions' store, for the expired-session cleanup.
    pub fn inner(&self) -> &SqliteStore {
        &self.inner
    }

    /// Creates the table if the migrations have not (they do).
    pub async fn migrate(&self) -> sqlx::Result<()> {
        self.inner.migrate().await
    }

    /// Writes `record` (replacing a row with its id when `replace`), with
    /// its user, unless that user is gone or its epoch moved on. `Ok(false)`
    /// when the id is taken and `replace` is off.
    async fn write(&self, record: &Record, replace: bool) -> session_store::Result<bool> {
        let user: Option<SessionUser> = record
            .data
            .get(SESSION_USER_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let data =
            rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let upsert = if replace {
            " ON CONFLICT(id) DO UPDATE SET data = excluded.data, \
              expiry_date = excluded.expiry_date, user_id = excluded.user_id"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO {TABLE} (id, data, expiry_date, user_id) SELECT ?1, ?2, ?3, ?4 \
             WHERE ?4 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?4 AND session_epoch = ?5){upsert}"
        );
        let id = record.id.to_string();
        let written = sqlx::query(&sql)
            .bind(&id)
            .bind(data)
            .bind(record.expiry_date)
            .bind(user.map(|u| u.id))
            .bind(user.map(|u| u.epoch))
            .execute(&self.pool)
            .await;
        match written {
            Ok(done) => {
                if done.rows_affected() == 0 {
                    // Its user is gone or signed out everywhere: no session.
                    sqlx::query(&format!("DELETE FROM {TABLE} WHERE id = ?"))
                        .bind(&id)
                        .execute(&self.pool)
                        .await
                        .map_err(backend)?;
                }
                Ok(true)
            }
            Err(sqlx::Error::Database(e)) if !replace && e.is_unique_violation() => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for UserSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.write(record, false).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, true).await.map(|_| ())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.inner.load(session_id).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.inner.delete(session_id).await
    }
}
