//! The SQLite implementation of [`Store`](super::Store): the embedded
//! default. Its queries are PostgreSQL's, written once in `store/sql/`
//! (compiled here as the module `sql`); this folder holds only what
//! differs: opening and migrating, and below, under the names the shared
//! queries use, `BEGIN IMMEDIATE` for a change (SQLite's one writer, which
//! makes the PostgreSQL locks needless), the frequent writers' turn, lists
//! as JSON text read with `json_each`; `access.rs`: the change feed;
//! `registry.rs`, `uploads.rs`: the statements that differ.

mod access;
mod registry;
mod uploads;

/// The queries both SQL stores run (`store/sql/`), compiled for SQLite.
/// (Each backend loads the folder as a module of its own, on purpose.)
#[path = "../sql/mod.rs"]
#[allow(clippy::duplicate_mod)]
mod sql;

/// What the shared queries know this backend by (see `store/sql/mod.rs`).
type SqlStore = SqliteStore;
type Db = sqlx::Sqlite;

use super::{StoreError, StoreResult};
use crate::OrgId;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Where committed changes are published in this process.
    pub(super) hub: std::sync::Arc<crate::changes::ChangeHub>,
    /// Taken by the frequent writers (blob links, new repositories, the
    /// pull log) for their write: SQLite has one writer at a time, and one
    /// that finds the database locked sleeps (1 ms, then longer) before it
    /// tries again; in this queue they wait their turn without sleeping.
    write_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// While any clone of the store lives, its checkpointer runs
    /// ([`checkpointer`]); it stops once this is dropped.
    _checkpoints: std::sync::Arc<()>,
}

/// How often the checkpointer copies the write-ahead log into the
/// database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The WAL size (pages) at which a committing writer checkpoints by itself:
/// only a safety net for a checkpointer that falls behind (SQLite's default
/// is 1,000 pages).
const WAL_AUTOCHECKPOINT_PAGES: &str = "16000";

/// What the WAL file is cut back to when writing starts again at its
/// beginning (once the checkpointer has copied all of it): nothing. Without
/// a limit, the file keeps the size of its busiest moment (14 MB after a
/// burst of logged pulls), and each commit then overwrites part-pages of
/// an old file: where those are no longer in the page cache, the one writer
/// reads them from disk first, holding the write lock (measured: pushes
/// after a burst of pulls fell from 730 to 530/s, the server's CPU idle).
/// Appending to a cut-back file reads nothing.
const JOURNAL_SIZE_LIMIT_BYTES: &str = "0";

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub async fn open_file(path: &Path) -> StoreResult<Self> {
        Self::open(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite:` URL (e.g. `sqlite:///var/lib/portcullis/db.sqlite`).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url).map_err(StoreError::internal)?;
        Self::open(options).await
    }

    /// The connection settings the store opens the database file at `path`
    /// with (benches/pool.rs opens a second pool with the same ones).
    pub fn connect_options(path: &Path) -> SqliteConnectOptions {
        Self::with_settings(SqliteConnectOptions::new().filename(path))
    }

    /// Every connection: created if missing, WAL, `synchronous = NORMAL`,
    /// foreign keys on, a 10 s wait for a locked database, no checkpoint
    /// by a writer until the WAL is large (the checkpointer does them,
    /// [`checkpointer`]), and the WAL file cut back when it starts over
    /// ([`JOURNAL_SIZE_LIMIT_BYTES`]).
    fn with_settings(options: SqliteConnectOptions) -> SqliteConnectOptions {
        options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
            .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)
    }

    async fn open(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = Self::with_settings(options);
        // SQLite has one writer at a time; readers scale with the cores.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool = pool_options()
            .max_connections((cores * 2).clamp(4, 16) as u32)
            .connect_with(options.clone())
            .await?;
        migrate(&pool).await?;
        let checkpoints = std::sync::Arc::new(());
        let checkpoint_conn = {
            use sqlx::ConnectOptions as _;
            // A checkpoint that takes long (a busy disk) holds up nobody:
            // not worth a warning in the operator's log.
            options
                .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1))
                .connect()
                .await?
        };
        tokio::spawn(checkpointer(
            checkpoint_conn,
            std::sync::Arc::downgrade(&checkpoints),
        ));
        Ok(Self {
            pool,
            hub: Default::default(),
            write_turn: Default::default(),
            _checkpoints: checkpoints,
        })
    }

    /// The turn of a frequent writer (see `write_turn`).
    pub(super) async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_turn.lock().await
    }

    /// The connection pool (the session store shares it).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Checkpoints the write-ahead log every [`CHECKPOINT_EVERY`], on a
/// connection of its own, until the store is gone (`alive`), then closes
/// it. A checkpoint syncs the WAL and the database file to disk; done by
/// the committing writer (SQLite's default, every 1,000 pages), that sync
/// happens while the writer holds the one write lock, and on a filesystem
/// with a journal it waits for every file written since the last commit
/// (measured: pushes stalled behind it, the server's CPU idle). `PASSIVE`
/// neither waits for nor blocks readers and writers.
async fn checkpointer(mut conn: SqliteConnection, alive: std::sync::Weak<()>) {
    use sqlx::Connection as _;
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if alive.strong_count() == 0 {
            break;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
    let _ = conn.close().await;
}

/// The pool's options: without sqlx's default ping of a connection before
/// each use. A connection here is a thread in this process, not a socket
/// that a server may have closed; the ping was one more trip to that thread
/// per query (measured with `cargo bench -p domain --bench pool`: a query
/// through this pool takes 0.70-0.83x the time it takes through sqlx's
/// default one, 4-18 us less). A connection whose thread failed still
/// fails its query, and the ping sqlx does when a connection comes back to
/// the pool closes it then.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().test_before_acquire(false)
}

/// Applies the migrations on one connection with foreign key enforcement
/// off, as SQLite's table rebuilds need (`PRAGMA foreign_keys` cannot change
/// inside the transaction each migration runs in): dropping a rebuilt table
/// must neither cascade nor be refused. Afterwards every reference is
/// checked, and the connection goes back to the pool with enforcement on
/// (or is closed when anything failed).
async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    use sqlx::Connection as _;
    let mut conn = pool.acquire().await?;
    let result: StoreResult<()> = async {
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let before = applied_migrations(&mut conn).await;
        MIGRATOR
            .run(&mut *conn)
            .await
            .map_err(StoreError::internal)?;
        if applied_migrations(&mut conn).await == before {
            // Nothing ran: no need to read every table.
            sqlx::query("PRAGMA foreign_keys = ON")
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
        let broken: Vec<(String, Option<i64>, String)> =
            sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
                .fetch_all(&mut *conn)
                .await?;
        if let Some((table, rowid, parent)) = broken.first() {
            return Err(StoreError::internal(format!(
                "after migrations, {} rows refer to missing rows (first: {table} row {rowid:?} -> {parent})",
                broken.len()
            )));
        }
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = conn.detach().close().await;
    }
    result
}

/// How many migrations the database has (0 before the first).
async fn applied_migrations(conn: &mut SqliteConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(conn)
        .await
        .unwrap_or(0)
}

/// A request's text as SQLite takes it: as it is (PostgreSQL's `text`
/// replaces the NUL character, which it refuses).
pub(super) fn text(s: &str) -> std::borrow::Cow<'_, str> {
    s.into()
}

/// What the shared queries ask of this backend where SQLite differs.
impl SqliteStore {
    /// No row lock: a transaction from `begin_write` is the one writer.
    pub(super) const FOR_SHARE: &str = "";
    /// No row lock: a transaction from `begin_write` is the one writer.
    pub(super) const FOR_UPDATE: &str = "";

    /// A transaction for a change: `BEGIN IMMEDIATE` takes SQLite's one
    /// write lock up front, so every check-then-write in it is one atomic
    /// step.
    pub(super) async fn begin_write(&self) -> StoreResult<Transaction<'static, Db>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Nothing to take: `begin_write` made this the one writer, so the
    /// first run's check and insert are already one atomic step.
    pub(super) async fn lock_first_run(_tx: &mut Transaction<'_, Db>) -> StoreResult<()> {
        Ok(())
    }

    /// Nothing to take: `begin_write` made this the one writer, so of two
    /// changes to an org's admins the second sees the first's result.
    pub(super) async fn lock_org(_tx: &mut Transaction<'_, Db>, _org_id: OrgId) -> StoreResult<()> {
        Ok(())
    }

    /// Nothing to take: `begin_write` made this the one writer, so one
    /// manifest write at a time.
    pub(super) async fn lock_repo(
        _tx: &mut Transaction<'_, Db>,
        _repo: super::RepoId,
    ) -> StoreResult<()> {
        Ok(())
    }

    /// A list of names as one parameter: JSON text, read by [`in_list`](Self::in_list).
    pub(super) fn list(names: &[impl AsRef<str>]) -> StoreResult<String> {
        let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        serde_json::to_string(&names).map_err(StoreError::internal)
    }

    /// `expr` is one of the names of the [`list`](Self::list) bound at `param`.
    pub(super) fn in_list(expr: &str, param: &str) -> String {
        format!("{expr} IN (SELECT value FROM json_each({param}))")
    }
}

#[cfg(test)]
mod fixture;

#[cfg(test)]
mod tests {
    use super::fixture::{count, email, name};
    use super::*;
    use crate::audit::Actor;
    use crate::{CustomerId, CustomerRole, Principal, UserId, VendorRole};

    /// Waits (polling, up to 20 s) until `done` holds.
    async fn eventually(what: &str, done: impl AsyncFn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !done().await {
            assert!(std::time::Instant::now() < deadline, "never: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Writers leave the WAL to the checkpointer (they would checkpoint
    /// only past `WAL_AUTOCHECKPOINT_PAGES`), which copies what they
    /// committed into the database file while the store lives; once the
    /// store is gone, it stops and the last connection's close removes the
    /// WAL. Once checkpointed, the WAL file is cut back at the next commit.
    #[tokio::test]
    async fn the_checkpointer_moves_commits_into_the_database_file_and_stops_with_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let wal = dir.path().join("t.db-wal");
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let s = SqliteStore::open_file(&path).await.unwrap();
        let limit: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(limit.to_string(), WAL_AUTOCHECKPOINT_PAGES);
        let cut_back: i64 = sqlx::query_scalar("PRAGMA journal_size_limit")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(cut_back.to_string(), JOURNAL_SIZE_LIMIT_BYTES);
        let before = size(&path);
        // 8 MiB: 2,048 pages, past SQLite's default autocheckpoint, short
        // of ours; only the checkpointer puts them in the database file.
        sqlx::query("CREATE TABLE filler (b BLOB)")
            .execute(s.pool())
            .await
            .unwrap();
        for _ in 0..8 {
            sqlx::query("INSERT INTO filler VALUES (randomblob(1048576))")
                .execute(s.pool())
                .await
                .unwrap();
        }
        eventually("the commits reach the database file", async || {
            size(&path) >= before + 8 * 1024 * 1024
        })
        .await;
        // Checkpointed, the WAL starts over: the next commit cuts the file
        // back (`JOURNAL_SIZE_LIMIT_BYTES`) instead of overwriting 8 MiB.
        assert!(size(&wal) >= 8 * 1024 * 1024);
        eventually("a commit cuts the WAL file back", async || {
            sqlx::query("INSERT INTO filler VALUES (x'00')")
                .execute(s.pool())
                .await
                .unwrap();
            size(&wal) < 1024 * 1024
        })
        .await;

        s.pool().close().await;
        drop(s);
        eventually("the WAL is removed", async || !wal.exists()).await;
        let check = SqliteStore::open_file(&path).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM filler WHERE length(b) = 1048576")
            .fetch_one(check.pool())
            .await
            .unwrap();
        assert_eq!(n, 8);
    }

    /// Migration 0008 rebuilds tables for AUTOINCREMENT: on a database made
    /// by the earlier migrations, rows, ids and references survive, and no
    /// id that anything still names is handed out again.
    #[tokio::test]
    async fn migration_0008_keeps_data_and_ids_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        let before_0008 = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                MIGRATOR
                    .migrations
                    .iter()
                    .filter(|m| m.version < 8)
                    .cloned()
                    .collect(),
            ),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        before_0008.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO orgs (slug, name, created_at) VALUES ('acme', 'Acme', '2026-01-01T00:00:00Z')",
            "INSERT INTO customers (org_id, name, created_at) VALUES (1, 'Globex', '2026-01-01T00:00:00Z'), (1, 'Gone', '2026-01-01T00:00:00Z')",
            "INSERT INTO users (org_id, customer_id, email, password_hash, role, created_at) VALUES \
             (1, NULL, 'a@acme.test', 'h', 'admin', '2026-01-01T00:00:00Z'), \
             (1, 1, 'c@globex.test', 'h', 'member', '2026-01-01T00:00:00Z'), \
             (1, 2, 'g@gone.test', 'h', 'member', '2026-01-01T00:00:00Z')",
            "INSERT INTO access_tokens (user_id, label, token_hash, created_at) VALUES (2, 't', 'hash2', '2026-01-01T00:00:00Z')",
            "INSERT INTO entitlements (customer_id, name, created_at, updated_at) VALUES (1, 'e', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            "INSERT INTO pulls (org_id, customer_id, customer_name, user_id, user_email, repository, digest, at, address) \
             VALUES (1, 2, 'Gone', 3, 'g@gone.test', 'app', 'sha256:x', '2026-01-01T00:00:00Z', '127.0.0.1')",
            // The highest customer and user ids, deleted: the pull log still names them.
            "DELETE FROM customers WHERE id = 2",
            "CREATE TABLE sessions (id TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL, expiry_date INTEGER NOT NULL)",
            "INSERT INTO sessions VALUES ('old', x'00', 0)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let s = SqliteStore::open_file(&path).await.unwrap();
        let (org, customer, user) = (OrgId::from, CustomerId::from, UserId::from);
        assert_eq!(
            count(&s, "SELECT COUNT(*) FROM sessions").await,
            0,
            "bare-id sessions end"
        );
        match s.principal(user(2)).await.unwrap().unwrap() {
            Principal::Customer {
                customer_id, email, ..
            } => assert_eq!(
                (customer_id, email.as_str()),
                (customer(1), "c@globex.test")
            ),
            other => panic!("{other:?}"),
        }
        use crate::store::RegistryStore as _;
        assert_eq!(
            s.token_by_hash("hash2").await.unwrap().unwrap().user_id,
            user(2)
        );
        assert_eq!(s.entitlements(org(1), customer(1)).await.unwrap().len(), 1);
        assert_eq!(s.session_epoch(user(2)).await.unwrap(), Some(0));

        let by = Actor::user(user(1), "a@acme.test");
        let c = s
            .create_customer(org(1), name("Initech"), &by)
            .await
            .unwrap();
        assert_eq!(
            c.id,
            customer(3),
            "customer 2 is still named by the pull log"
        );
        let u = s
            .create_customer_user(
                org(1),
                c.id,
                email("i@initech.test"),
                "h".into(),
                CustomerRole::Member,
                &by,
            )
            .await
            .unwrap();
        assert_eq!(u, user(4), "user 3 is still named by the pull log");
        // Removing the newest user: its id is not handed out again.
        s.delete_customer_user(org(1), c.id, u, &by).await.unwrap();
        let v = s
            .create_vendor_user(org(1), email("v@acme.test"), "h".into(), VendorRole::Admin)
            .await
            .unwrap();
        assert_eq!(v.id, user(5));

        // References still hold: deleting a customer takes its users, their
        // tokens and sessions; the old pull keeps its mark.
        sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date, user_id) VALUES ('s', x'00', 0, 2)",
        )
        .execute(&s.pool)
        .await
        .unwrap();
        s.delete_customer(org(1), customer(1), &by).await.unwrap();
        assert_eq!(count(&s, "SELECT COUNT(*) FROM sessions").await, 0);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM access_tokens").await, 0);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM entitlements").await, 0);
        assert_eq!(count(&s, "SELECT customer_gone FROM pulls").await, 1);
    }
}
