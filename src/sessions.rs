//! The session store: tower-sessions' SQLite store (table `sessions`), or
//! with PostgreSQL the same table written here (migrations/postgres), whose
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
use sqlx::{PgPool, SqlitePool};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::SqliteStore;

/// The session table.
pub const TABLE: &str = "sessions";

#[derive(Clone, Debug)]
pub struct UserSessions {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite {
        inner: SqliteStore,
        pool: SqlitePool,
    },
    Postgres(PgPool),
}

impl UserSessions {
    pub fn new(pool: crate::config::sqlx_pool::Pool) -> anyhow::Result<Self> {
        use crate::config::sqlx_pool::Pool;
        let backend = match pool {
            Pool::Sqlite(pool) => Backend::Sqlite {
                inner: SqliteStore::new(pool.clone())
                    .with_table_name(TABLE)
                    .map_err(|e| anyhow::anyhow!("session store: {e}"))?,
                pool,
            },
            Pool::Postgres(pool) => Backend::Postgres(pool),
        };
        Ok(Self { backend })
    }

    /// Creates the table if the migrations have not (they do; PostgreSQL's
    /// are the store's own).
    pub async fn migrate(&self) -> sqlx::Result<()> {
        match &self.backend {
            Backend::Sqlite { inner, .. } => inner.migrate().await,
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// Writes `record` (replacing a row with its id when `replace`), with
    /// its user, unless that user is gone or its epoch moved on. `Ok(false)`
    /// when the id is taken and `replace` is off.
    async fn write(&self, record: &Record, replace: bool) -> session_store::Result<bool> {
        let upsert = if replace {
            " ON CONFLICT (id) DO UPDATE SET data = excluded.data, \
              expiry_date = excluded.expiry_date, user_id = excluded.user_id"
        } else {
            ""
        };
        let insert = |select: &str| {
            format!("INSERT INTO {TABLE} (id, data, expiry_date, user_id) {select}{upsert}")
        };
        match &self.backend {
            Backend::Sqlite { pool, .. } => {
                let insert = insert(
                    "SELECT ?1, ?2, ?3, ?4 WHERE ?4 IS NULL OR EXISTS \
                     (SELECT 1 FROM users WHERE id = ?4 AND session_epoch = ?5)",
                );
                let delete = format!("DELETE FROM {TABLE} WHERE id = ?");
                write_row(pool, [&insert, &delete], record, replace).await
            }
            Backend::Postgres(pool) => {
                let insert = insert(
                    "SELECT $1, $2, $3, $4 WHERE $4::BIGINT IS NULL OR EXISTS \
                     (SELECT 1 FROM users WHERE id = $4 AND session_epoch = $5)",
                );
                let delete = format!("DELETE FROM {TABLE} WHERE id = $1");
                write_row(pool, [&insert, &delete], record, replace).await
            }
        }
    }
}

/// Writes `record` with the backend's `[insert, delete]` statements: the
/// insert takes the id, data, expiry, user id and user epoch and writes
/// nothing when the user is gone or signed out everywhere; the row is then
/// deleted by id (no session). `Ok(false)` when the insert (not replacing)
/// met a taken id.
async fn write_row<DB>(
    pool: &sqlx::Pool<DB>,
    [insert, delete]: [&str; 2],
    record: &Record,
    replace: bool,
) -> session_store::Result<bool>
where
    DB: sqlx::Database,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> time::OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<domain::UserId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::QueryResult: RowsAffected,
{
    let user: Option<SessionUser> = record
        .data
        .get(SESSION_USER_KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let data =
        rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let written = sqlx::query(insert)
        .bind(record.id.to_string())
        .bind(data)
        .bind(record.expiry_date)
        .bind(user.map(|u| u.id))
        .bind(user.map(|u| u.epoch))
        .execute(pool)
        .await;
    match written {
        Ok(done) => {
            if done.rows() == 0 {
                // Its user is gone or signed out everywhere: no session.
                sqlx::query(delete)
                    .bind(record.id.to_string())
                    .execute(pool)
                    .await
                    .map_err(backend)?;
            }
            Ok(true)
        }
        Err(sqlx::Error::Database(e)) if !replace && e.is_unique_violation() => Ok(false),
        Err(e) => Err(backend(e)),
    }
}

/// How many rows a statement changed, on either backend.
trait RowsAffected {
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
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
        match &self.backend {
            Backend::Sqlite { inner, .. } => inner.load(session_id).await,
            Backend::Postgres(pool) => pg::load(pool, session_id).await,
        }
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        match &self.backend {
            Backend::Sqlite { inner, .. } => inner.delete(session_id).await,
            Backend::Postgres(pool) => pg::delete(pool, session_id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for UserSessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.backend {
            Backend::Sqlite { inner, .. } => inner.delete_expired().await,
            Backend::Postgres(pool) => pg::delete_expired(pool).await,
        }
    }
}

/// The session table in PostgreSQL (written by [`write_row`] as SQLite's is;
/// tower-sessions' own PostgreSQL store has another table shape).
mod pg {
    use super::{backend, TABLE};
    use sqlx::PgPool;
    use time::OffsetDateTime;
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store;

    pub(super) async fn load(pool: &PgPool, id: &Id) -> session_store::Result<Option<Record>> {
        let data: Option<Vec<u8>> = sqlx::query_scalar(&format!(
            "SELECT data FROM {TABLE} WHERE id = $1 AND expiry_date > $2"
        ))
        .bind(id.to_string())
        .bind(OffsetDateTime::now_utc())
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
        data.map(|d| {
            rmp_serde::from_slice(&d).map_err(|e| session_store::Error::Decode(e.to_string()))
        })
        .transpose()
    }

    pub(super) async fn delete(pool: &PgPool, id: &Id) -> session_store::Result<()> {
        sqlx::query(&format!("DELETE FROM {TABLE} WHERE id = $1"))
            .bind(id.to_string())
            .execute(pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn delete_expired(pool: &PgPool) -> session_store::Result<()> {
        sqlx::query(&format!("DELETE FROM {TABLE} WHERE expiry_date < now()"))
            .execute(pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
