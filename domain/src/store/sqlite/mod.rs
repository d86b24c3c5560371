//! The SQLite implementation of [`Store`]: the embedded default, one module
//! per aggregate (orgs, users, customers, entitlements, audit, links, pulls,
//! registry, access). The [`Store`] implementation below only says where
//! each method lives.

mod access;
mod audit;
mod customers;
mod entitlements;
mod links;
mod orgs;
mod pulls;
mod registry;
mod users;

use super::{Credentials, NewOrg, PasswordLinkUser, Store, StoreError, StoreResult};
use crate::audit::{Actor, AuditEvent};
use crate::entitlements::{EntitlementView, ValidEntitlement};
use crate::{
    Customer, CustomerId, CustomerRole, CustomerSummary, CustomerUser, DisplayName, Email,
    EntitlementId, Org, OrgId, OrgSlug, Plan, Principal, UserId, VendorRole, VendorUser,
};
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Where committed changes are published in this process.
    pub(super) hub: std::sync::Arc<crate::changes::ChangeHub>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub async fn open_file(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::open(options).await
    }

    /// Opens a `sqlite:` URL (e.g. `sqlite:///var/lib/portcullis/db.sqlite`).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url).map_err(StoreError::internal)?;
        Self::open(options).await
    }

    async fn open(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // SQLite has one writer at a time; readers scale with the cores.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool = SqlitePoolOptions::new()
            .max_connections((cores * 2).clamp(4, 16) as u32)
            .connect_with(options)
            .await?;
        migrate(&pool).await?;
        Ok(Self {
            pool,
            hub: Default::default(),
        })
    }

    /// The connection pool (the session store shares it).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
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

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A unique-constraint failure becomes `taken` (what is taken); anything
/// else stays a database error.
pub(super) fn unique_or(e: sqlx::Error, taken: StoreError) -> StoreError {
    if is_unique_violation(&e) {
        taken
    } else {
        e.into()
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn has_orgs(&self) -> StoreResult<bool> {
        SqliteStore::has_orgs(self).await
    }

    async fn create_org_with_admin(
        &self,
        org: NewOrg,
        admin_email: Email,
        password_hash: String,
        only_if_first: bool,
    ) -> StoreResult<(Org, VendorUser)> {
        SqliteStore::create_org_with_admin(self, org, admin_email, password_hash, only_if_first)
            .await
    }

    async fn org_by_slug(&self, slug: &OrgSlug) -> StoreResult<Org> {
        SqliteStore::org_by_slug(self, slug).await
    }

    async fn org(&self, id: OrgId) -> StoreResult<Org> {
        SqliteStore::org(self, id).await
    }

    async fn set_plan(
        &self,
        slug: &OrgSlug,
        plan: Plan,
        trial_ends_at: Option<DateTime<Utc>>,
    ) -> StoreResult<Org> {
        SqliteStore::set_plan(self, slug, plan, trial_ends_at).await
    }

    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>> {
        SqliteStore::credentials(self, email).await
    }

    async fn principal(&self, user_id: UserId) -> StoreResult<Option<Principal>> {
        SqliteStore::principal(self, user_id).await
    }

    async fn session_principal(
        &self,
        user_id: UserId,
        epoch: i64,
    ) -> StoreResult<Option<Principal>> {
        SqliteStore::session_principal(self, user_id, epoch).await
    }

    async fn session_epoch(&self, user_id: UserId) -> StoreResult<Option<i64>> {
        SqliteStore::session_epoch(self, user_id).await
    }

    async fn create_customer_user_with_link(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        email: Email,
        role: CustomerRole,
        link: (&str, DateTime<Utc>),
        by: &Actor,
    ) -> StoreResult<UserId> {
        SqliteStore::insert_customer_user_with_link(
            self,
            org_id,
            customer_id,
            email,
            role,
            link,
            by,
        )
        .await
    }

    async fn password_link(
        &self,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PasswordLinkUser>> {
        SqliteStore::find_password_link(self, secret_hash, now).await
    }

    async fn use_password_link(
        &self,
        secret_hash: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>> {
        SqliteStore::consume_password_link(self, secret_hash, password_hash, now).await
    }

    async fn vendor_users(&self, org_id: OrgId) -> StoreResult<Vec<VendorUser>> {
        SqliteStore::vendor_users(self, org_id).await
    }

    async fn create_vendor_user(
        &self,
        org_id: OrgId,
        email: Email,
        password_hash: String,
        role: VendorRole,
    ) -> StoreResult<VendorUser> {
        SqliteStore::create_vendor_user(self, org_id, email, password_hash, role).await
    }

    async fn set_vendor_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: VendorRole,
    ) -> StoreResult<VendorUser> {
        SqliteStore::set_vendor_role(self, org_id, user_id, role).await
    }

    async fn delete_vendor_user(&self, org_id: OrgId, user_id: UserId) -> StoreResult<()> {
        SqliteStore::delete_vendor_user(self, org_id, user_id).await
    }

    async fn create_customer(
        &self,
        org_id: OrgId,
        name: DisplayName,
        by: &Actor,
    ) -> StoreResult<Customer> {
        SqliteStore::create_customer(self, org_id, name, by).await
    }

    async fn create_customer_user(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        email: Email,
        password_hash: String,
        role: CustomerRole,
        by: &Actor,
    ) -> StoreResult<UserId> {
        SqliteStore::create_customer_user(self, org_id, customer_id, email, password_hash, role, by)
            .await
    }

    async fn customers(&self, org_id: OrgId, q: &str) -> StoreResult<Vec<CustomerSummary>> {
        SqliteStore::customers(self, org_id, q).await
    }

    async fn customer(&self, org_id: OrgId, id: CustomerId) -> StoreResult<Customer> {
        SqliteStore::customer(self, org_id, id).await
    }

    async fn rename_customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
        name: DisplayName,
        by: &Actor,
    ) -> StoreResult<Customer> {
        SqliteStore::rename_customer(self, org_id, id, name, by).await
    }

    async fn delete_customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
        by: &Actor,
    ) -> StoreResult<Vec<UserId>> {
        SqliteStore::delete_customer(self, org_id, id, by).await
    }

    async fn customer_users(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
    ) -> StoreResult<Vec<CustomerUser>> {
        SqliteStore::customer_users(self, org_id, customer_id).await
    }

    async fn delete_customer_user(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        user_id: UserId,
        by: &Actor,
    ) -> StoreResult<()> {
        SqliteStore::delete_customer_user(self, org_id, customer_id, user_id, by).await
    }

    async fn entitlements(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
    ) -> StoreResult<Vec<EntitlementView>> {
        SqliteStore::entitlements(self, org_id, customer_id).await
    }

    async fn entitlement(&self, org_id: OrgId, id: EntitlementId) -> StoreResult<EntitlementView> {
        SqliteStore::entitlement(self, org_id, id).await
    }

    async fn save_entitlement(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        id: Option<EntitlementId>,
        entitlement: ValidEntitlement,
        by: &Actor,
    ) -> StoreResult<EntitlementView> {
        SqliteStore::save_entitlement(self, org_id, customer_id, id, entitlement, by).await
    }

    async fn delete_entitlement(
        &self,
        org_id: OrgId,
        id: EntitlementId,
        by: &Actor,
    ) -> StoreResult<CustomerId> {
        SqliteStore::delete_entitlement(self, org_id, id, by).await
    }

    async fn audit_events(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        SqliteStore::audit_events(self, org_id, customer_id, limit).await
    }

    async fn record_pulls(&self, pulls: &[crate::pulls::NewPull]) -> StoreResult<()> {
        SqliteStore::insert_pulls(self, pulls).await
    }

    async fn pulls(
        &self,
        org_id: OrgId,
        query: &crate::pulls::PullQuery,
    ) -> StoreResult<Vec<crate::pulls::Pull>> {
        SqliteStore::select_pulls(self, org_id, query).await
    }
}

#[cfg(test)]
mod fixture;

#[cfg(test)]
mod tests {
    use super::fixture::{count, email, name};
    use super::*;

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
