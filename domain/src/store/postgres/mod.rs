//! The PostgreSQL implementation of [`Store`](super::Store): the scale-out
//! configuration (`DATABASE_URL=postgres://…`). Its queries are SQLite's,
//! written once in `store/sql/` (compiled here as the module `sql`); this
//! folder holds only what differs: connecting, and below, under the names
//! the shared queries use, a plain transaction for a change plus the row or
//! advisory locks where SQLite relied on its single writer for a
//! check-then-write (`lock_first_run`, `lock_org`, `lock_repo`, `FOR_SHARE`,
//! `FOR_UPDATE`), lists as arrays (`= ANY($n)`), text without NUL
//! ([`text`]); `access.rs`: the change feed's advisory lock, NOTIFY and the
//! wait for the other servers; `registry.rs`, `uploads.rs`: the statements
//! that differ. Integers are BIGINT (`i64`), flags BOOLEAN, times
//! TIMESTAMPTZ: the shared row types (`store/rows.rs`) decode either.

mod access;
mod registry;
mod uploads;

/// The queries both SQL stores run (`store/sql/`), compiled for PostgreSQL.
/// (Each backend loads the folder as a module of its own, on purpose.)
#[path = "../sql/mod.rs"]
#[allow(clippy::duplicate_mod)]
mod sql;

/// What the shared queries know this backend by (see `store/sql/mod.rs`).
type SqlStore = PgStore;
type Db = sqlx::Postgres;

pub use access::CHANGES_CHANNEL;

use super::{StoreError, StoreResult};
use crate::OrgId;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Transaction;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// Where committed changes are published in this process.
    pub(super) hub: std::sync::Arc<crate::changes::ChangeHub>,
    /// Whether a writer waits for the other servers (see `wait_for_readers`).
    readers: Option<ReaderWait>,
}

/// How a writer waits for the change feed's readers.
#[derive(Clone, Copy, Debug)]
pub(super) struct ReaderWait {
    /// A reader not seen for this long is taken for dead.
    alive: Duration,
    /// The longest a writer waits.
    timeout: Duration,
    /// How often it looks.
    poll: Duration,
}

impl PgStore {
    /// Connects to a `postgres://` or `postgresql://` URL and applies the
    /// migrations (concurrent starts are safe: sqlx takes an advisory lock).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::internal)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await.map_err(StoreError::internal)?;
        Ok(Self {
            pool,
            hub: Default::default(),
            readers: None,
        })
    }

    /// Makes every write that appends to the change feed return only once
    /// every live server (one that reported within `alive`) has applied it,
    /// or after `timeout`: a change made through one instance is in effect
    /// on all of them by the next request (with LISTEN/NOTIFY that takes a
    /// few milliseconds). For servers and the admin CLI; off by default.
    pub fn wait_for_readers(mut self, alive: Duration, timeout: Duration) -> Self {
        self.readers = Some(ReaderWait {
            alive,
            timeout,
            poll: Duration::from_millis(2),
        });
        self
    }

    /// The connection pool (the session store shares it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Text from a request, as PostgreSQL can take it: it refuses the NUL
/// character (SQLite stores it), which no stored name, email, tag or
/// cursor can contain (their parsers refuse control characters), so it
/// becomes another control character that matches nothing either: a
/// lookup or search with it finds nothing, on both databases alike, rather
/// than failing.
pub(super) fn text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "\u{1}").into()
    } else {
        s.into()
    }
}

/// The advisory lock of the first run (`only_if_first`).
const FIRST_RUN_LOCK: i64 = 0x5043_4c01;

/// What the shared queries ask of this backend where PostgreSQL differs.
impl PgStore {
    /// Read rows stay as they are until the transaction ends.
    pub(super) const FOR_SHARE: &str = " FOR SHARE";
    /// Read rows are this transaction's to change until it ends.
    pub(super) const FOR_UPDATE: &str = " FOR UPDATE";

    /// A frequent writer's turn: PostgreSQL takes concurrent writers, so
    /// there is none to wait for (SQLite queues them).
    pub(super) async fn write_turn(&self) {}

    /// A transaction for a change: a plain one; where a check-then-write
    /// needs it, the shared query takes a lock below (SQLite has one
    /// writer at a time instead).
    pub(super) async fn begin_write(&self) -> StoreResult<Transaction<'static, Db>> {
        Ok(self.pool.begin().await?)
    }

    /// One first run at a time, cluster-wide: the "no org yet" check and
    /// the insert are one atomic step.
    pub(super) async fn lock_first_run(tx: &mut Transaction<'_, Db>) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FIRST_RUN_LOCK)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Locks the org's row until the transaction ends: of two concurrent
    /// changes to its admins, the second sees the first's result.
    pub(super) async fn lock_org(tx: &mut Transaction<'_, Db>, org_id: OrgId) -> StoreResult<()> {
        sqlx::query("SELECT id FROM orgs WHERE id = $1 FOR NO KEY UPDATE")
            .bind(org_id)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(())
    }

    /// Locks the repository's row until the transaction ends: one manifest
    /// write per repository at a time.
    pub(super) async fn lock_repo(
        tx: &mut Transaction<'_, Db>,
        repo: super::RepoId,
    ) -> StoreResult<()> {
        sqlx::query("SELECT id FROM repositories WHERE id = $1 FOR NO KEY UPDATE")
            .bind(repo)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(())
    }

    /// A list of names as one parameter: an array, read by [`in_list`](Self::in_list).
    pub(super) fn list(names: &[impl AsRef<str>]) -> StoreResult<Vec<String>> {
        Ok(names
            .iter()
            .map(|n| text(n.as_ref()).into_owned())
            .collect())
    }

    /// `expr` is one of the names of the [`list`](Self::list) bound at `param`.
    pub(super) fn in_list(expr: &str, param: &str) -> String {
        format!("{expr} = ANY({param})")
    }
}
