//! The SQLite implementation of [`Store`]: the embedded default.

use super::sqlite_access::note_change;
use super::{Credentials, NewOrg, Store, StoreError, StoreResult};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::changes::ChangeKind;
use crate::entitlements::{EntitlementView, GrantView, TagsInput, ValidEntitlement};
use crate::policy::TagGrant;
use crate::{
    Customer, CustomerId, CustomerRole, CustomerSummary, CustomerUser, DisplayName, Email, Org,
    OrgId, OrgSlug, Plan, Principal, UserId, VendorRole, VendorUser,
};
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::collections::HashMap;
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
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("bad sqlite url: {e}")))?;
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

    /// A user as the principal it acts as; with `epoch`, only while the
    /// user's session epoch is still that one (a session's user).
    async fn load_principal(
        &self,
        user_id: UserId,
        epoch: Option<i64>,
    ) -> StoreResult<Option<Principal>> {
        let row: Option<PrincipalRow> = sqlx::query_as(
            "SELECT u.id AS user_id, u.email, u.role, o.id AS org_id, o.slug AS org_slug, \
                    o.name AS org_name, c.id AS customer_id, c.name AS customer_name \
             FROM users u JOIN orgs o ON o.id = u.org_id \
             LEFT JOIN customers c ON c.id = u.customer_id \
             WHERE u.id = ?1 AND (?2 IS NULL OR u.session_epoch = ?2)",
        )
        .bind(user_id)
        .bind(epoch)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let bad = |e: crate::ParseError| StoreError::Internal(e.0);
        Ok(Some(match (r.customer_id, r.customer_name) {
            (Some(customer_id), Some(customer_name)) => Principal::Customer {
                user_id: r.user_id,
                email: r.email,
                role: CustomerRole::parse(&r.role).map_err(bad)?,
                org_id: r.org_id,
                org_slug: r.org_slug,
                org_name: r.org_name,
                customer_id,
                customer_name,
            },
            _ => Principal::Vendor {
                user_id: r.user_id,
                email: r.email,
                role: VendorRole::parse(&r.role).map_err(bad)?,
                org_id: r.org_id,
                org_slug: r.org_slug,
                org_name: r.org_name,
            },
        }))
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
            .map_err(|e| StoreError::Internal(format!("migrations failed: {e}")))?;
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
            return Err(StoreError::Internal(format!(
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

/// A unique-constraint failure becomes a conflict on `field`; anything else
/// stays a database error.
pub(super) fn unique_or(e: sqlx::Error, field: &'static str, message: String) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict { field, message }
    } else {
        e.into()
    }
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    slug: String,
    name: String,
    plan: String,
    trial_ends_at: Option<DateTime<Utc>>,
    immutable_tags: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<OrgRow> for Org {
    type Error = StoreError;
    fn try_from(r: OrgRow) -> Result<Self, Self::Error> {
        Ok(Org {
            id: r.id,
            slug: r.slug,
            name: r.name,
            plan: Plan::parse(&r.plan).map_err(|e| StoreError::Internal(e.0))?,
            trial_ends_at: r.trial_ends_at,
            immutable_tags: r.immutable_tags,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct VendorUserRow {
    id: i64,
    email: String,
    role: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<VendorUserRow> for VendorUser {
    type Error = StoreError;
    fn try_from(r: VendorUserRow) -> Result<Self, Self::Error> {
        Ok(VendorUser {
            id: r.id,
            email: r.email,
            role: VendorRole::parse(&r.role).map_err(|e| StoreError::Internal(e.0))?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    user_id: i64,
    email: String,
    role: String,
    org_id: i64,
    org_slug: String,
    org_name: String,
    customer_id: Option<i64>,
    customer_name: Option<String>,
}

const ORG_COLUMNS: &str = "id, slug, name, plan, trial_ends_at, immutable_tags, created_at";
const VENDOR_USER_COLUMNS: &str = "id, email, role, created_at";

async fn admin_count(tx: &mut Transaction<'_, Sqlite>, org_id: OrgId) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE org_id = ? AND customer_id IS NULL AND role = 'admin'",
    )
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await?)
}

async fn vendor_user_in_tx(
    tx: &mut Transaction<'_, Sqlite>,
    org_id: OrgId,
    user_id: UserId,
) -> StoreResult<VendorUser> {
    let row: Option<VendorUserRow> = sqlx::query_as(&format!(
        "SELECT {VENDOR_USER_COLUMNS} FROM users WHERE id = ? AND org_id = ? AND customer_id IS NULL"
    ))
    .bind(user_id)
    .bind(org_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or(StoreError::NotFound)?.try_into()
}

/// Ends every session of `user` (role or password changed): sessions
/// holding the old epoch no longer sign anyone in, and their rows go.
pub(super) async fn end_sessions(
    tx: &mut Transaction<'_, Sqlite>,
    user_id: UserId,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = ?")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) const EMAIL_TAKEN: &str = "A user with this email already exists.";

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn has_orgs(&self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orgs)")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_org_with_admin(
        &self,
        org: NewOrg,
        admin_email: Email,
        password_hash: String,
        only_if_first: bool,
    ) -> StoreResult<(Org, VendorUser)> {
        let now = Utc::now();
        // BEGIN IMMEDIATE: take the write lock up front so the "first org"
        // check and the insert are one atomic step.
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let result: StoreResult<(Org, VendorUser)> = async {
            if only_if_first {
                let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orgs)")
                    .fetch_one(&mut *conn)
                    .await?;
                if exists {
                    return Err(StoreError::Rejected(super::ALREADY_SET_UP.into()));
                }
            }
            let org_row: OrgRow = sqlx::query_as(&format!(
                "INSERT INTO orgs (slug, name, plan, trial_ends_at, created_at) VALUES (?, ?, ?, ?, ?) RETURNING {ORG_COLUMNS}"
            ))
            .bind(org.slug.as_str())
            .bind(org.name.as_str())
            .bind(org.plan.as_str())
            .bind(org.trial_ends_at)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| unique_or(e, "slug", format!("The slug \"{}\" is taken.", org.slug)))?;
            let user_row: VendorUserRow = sqlx::query_as(&format!(
                "INSERT INTO users (org_id, email, password_hash, role, created_at) VALUES (?, ?, ?, 'admin', ?) RETURNING {VENDOR_USER_COLUMNS}"
            ))
            .bind(org_row.id)
            .bind(admin_email.as_str())
            .bind(&password_hash)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| unique_or(e, "email", EMAIL_TAKEN.into()))?;
            Ok((org_row.try_into()?, user_row.try_into()?))
        }
        .await;
        match &result {
            Ok(_) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
            }
            Err(_) => {
                sqlx::query("ROLLBACK").execute(&mut *conn).await?;
            }
        }
        result
    }

    async fn org_by_slug(&self, slug: &OrgSlug) -> StoreResult<Org> {
        let row: OrgRow = sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE slug = ?"))
            .bind(slug.as_str())
            .fetch_one(&self.pool)
            .await?;
        row.try_into()
    }

    async fn org(&self, id: OrgId) -> StoreResult<Org> {
        let row: OrgRow = sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = ?"))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        row.try_into()
    }

    async fn set_plan(
        &self,
        slug: &OrgSlug,
        plan: Plan,
        trial_ends_at: Option<DateTime<Utc>>,
    ) -> StoreResult<Org> {
        let trial_ends_at = if plan == Plan::ProTrial {
            trial_ends_at
        } else {
            None
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row: OrgRow = sqlx::query_as(&format!(
            "UPDATE orgs SET plan = ?, trial_ends_at = ? WHERE slug = ? RETURNING {ORG_COLUMNS}"
        ))
        .bind(plan.as_str())
        .bind(trial_ends_at)
        .bind(slug.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let change = note_change(&mut tx, row.id, None, None, ChangeKind::Plan).await?;
        tx.commit().await?;
        self.published([change]);
        row.try_into()
    }

    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>> {
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT id, password_hash, session_epoch FROM users WHERE email = ?")
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(
            row.map(|(user_id, password_hash, session_epoch)| Credentials {
                user_id,
                password_hash,
                session_epoch,
            }),
        )
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
        self.insert_customer_user_with_link(org_id, customer_id, email, role, link, by)
            .await
    }

    async fn password_link(
        &self,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<super::PasswordLinkUser>> {
        self.find_password_link(secret_hash, now).await
    }

    async fn use_password_link(
        &self,
        secret_hash: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>> {
        self.consume_password_link(secret_hash, password_hash, now)
            .await
    }

    async fn principal(&self, user_id: UserId) -> StoreResult<Option<Principal>> {
        self.load_principal(user_id, None).await
    }

    async fn session_principal(
        &self,
        user_id: UserId,
        epoch: i64,
    ) -> StoreResult<Option<Principal>> {
        self.load_principal(user_id, Some(epoch)).await
    }

    async fn session_epoch(&self, user_id: UserId) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT session_epoch FROM users WHERE id = ?")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn vendor_users(&self, org_id: OrgId) -> StoreResult<Vec<VendorUser>> {
        let rows: Vec<VendorUserRow> = sqlx::query_as(&format!(
            "SELECT {VENDOR_USER_COLUMNS} FROM users WHERE org_id = ? AND customer_id IS NULL ORDER BY email"
        ))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn create_vendor_user(
        &self,
        org_id: OrgId,
        email: Email,
        password_hash: String,
        role: VendorRole,
    ) -> StoreResult<VendorUser> {
        let row: VendorUserRow = sqlx::query_as(&format!(
            "INSERT INTO users (org_id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?) RETURNING {VENDOR_USER_COLUMNS}"
        ))
        .bind(org_id)
        .bind(email.as_str())
        .bind(&password_hash)
        .bind(role.as_str())
        .bind(Utc::now())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| unique_or(e, "email", EMAIL_TAKEN.into()))?;
        row.try_into()
    }

    async fn set_vendor_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: VendorRole,
    ) -> StoreResult<VendorUser> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let user = vendor_user_in_tx(&mut tx, org_id, user_id).await?;
        if user.role == VendorRole::Admin
            && role != VendorRole::Admin
            && admin_count(&mut tx, org_id).await? <= 1
        {
            return Err(StoreError::Rejected(
                "The organization needs at least one admin; make someone else admin first.".into(),
            ));
        }
        sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if role != user.role {
            end_sessions(&mut tx, user_id).await?;
        }
        let change = note_change(
            &mut tx,
            org_id,
            None,
            Some(user_id),
            ChangeKind::UserChanged,
        )
        .await?;
        tx.commit().await?;
        self.published([change]);
        Ok(VendorUser { role, ..user })
    }

    async fn delete_vendor_user(&self, org_id: OrgId, user_id: UserId) -> StoreResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let user = vendor_user_in_tx(&mut tx, org_id, user_id).await?;
        if user.role == VendorRole::Admin && admin_count(&mut tx, org_id).await? <= 1 {
            return Err(StoreError::Rejected(
                "The organization needs at least one admin; you cannot remove the last one.".into(),
            ));
        }
        sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let change = note_change(
            &mut tx,
            org_id,
            None,
            Some(user_id),
            ChangeKind::UserChanged,
        )
        .await?;
        tx.commit().await?;
        self.published([change]);
        Ok(())
    }

    async fn create_customer(
        &self,
        org_id: OrgId,
        name: DisplayName,
        by: &Actor,
    ) -> StoreResult<Customer> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row: (i64, DateTime<Utc>) = sqlx::query_as(
            "INSERT INTO customers (org_id, name, created_at) VALUES (?, ?, ?) RETURNING id, created_at",
        )
        .bind(org_id)
        .bind(name.as_str())
        .bind(Utc::now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_or(e, "name", "A customer with this name already exists.".into()))?;
        record(
            &mut tx,
            org_id,
            by,
            Change {
                customer_id: row.0,
                action: AuditAction::CustomerCreated,
                subject: name.as_str(),
                before: None,
                after: Some(serde_json::json!({ "name": name.as_str() })),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Customer {
            id: row.0,
            org_id,
            name: name.as_str().to_owned(),
            created_at: row.1,
        })
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id = insert_customer_user(
            &mut tx,
            org_id,
            by,
            NewCustomerUserRow {
                customer_id,
                email: &email,
                password_hash: &password_hash,
                role,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn customers(&self, org_id: OrgId, q: &str) -> StoreResult<Vec<CustomerSummary>> {
        let pattern = format!(
            "%{}%",
            q.trim()
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let rows: Vec<(i64, String, DateTime<Utc>, i64)> = sqlx::query_as(
            "SELECT c.id, c.name, c.created_at, (SELECT COUNT(*) FROM users u WHERE u.customer_id = c.id) \
             FROM customers c WHERE c.org_id = ? AND lower(c.name) LIKE ? ESCAPE '\\' ORDER BY lower(c.name), c.id",
        )
        .bind(org_id)
        .bind(pattern)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, user_count)| CustomerSummary {
                id,
                name,
                created_at,
                user_count,
            })
            .collect())
    }

    async fn customer(&self, org_id: OrgId, id: CustomerId) -> StoreResult<Customer> {
        let (name, created_at): (String, DateTime<Utc>) =
            sqlx::query_as("SELECT name, created_at FROM customers WHERE id = ? AND org_id = ?")
                .bind(id)
                .bind(org_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(Customer {
            id,
            org_id,
            name,
            created_at,
        })
    }

    async fn rename_customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
        name: DisplayName,
        by: &Actor,
    ) -> StoreResult<Customer> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let old: String =
            sqlx::query_scalar("SELECT name FROM customers WHERE id = ? AND org_id = ?")
                .bind(id)
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
        let created_at: DateTime<Utc> = sqlx::query_scalar(
            "UPDATE customers SET name = ? WHERE id = ? AND org_id = ? RETURNING created_at",
        )
        .bind(name.as_str())
        .bind(id)
        .bind(org_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            unique_or(
                e,
                "name",
                "A customer with this name already exists.".into(),
            )
        })?;
        if old != name.as_str() {
            record(
                &mut tx,
                org_id,
                by,
                Change {
                    customer_id: id,
                    action: AuditAction::CustomerRenamed,
                    subject: name.as_str(),
                    before: Some(serde_json::json!({ "name": old })),
                    after: Some(serde_json::json!({ "name": name.as_str() })),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Customer {
            id,
            org_id,
            name: name.as_str().to_owned(),
            created_at,
        })
    }

    async fn delete_customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
        by: &Actor,
    ) -> StoreResult<Vec<UserId>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let name: String =
            sqlx::query_scalar("SELECT name FROM customers WHERE id = ? AND org_id = ?")
                .bind(id)
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
        let users: Vec<(i64, String)> = sqlx::query_as(
            "SELECT u.id, u.email FROM users u JOIN customers c ON c.id = u.customer_id WHERE c.id = ? AND c.org_id = ? ORDER BY u.email",
        )
        .bind(id)
        .bind(org_id)
        .fetch_all(&mut *tx)
        .await?;
        let entitlements: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM entitlements WHERE customer_id = ? ORDER BY lower(name)",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        record(
            &mut tx,
            org_id,
            by,
            Change {
                customer_id: id,
                action: AuditAction::CustomerDeleted,
                subject: &name,
                before: Some(serde_json::json!({
                    "name": name,
                    "users": users.iter().map(|(_, email)| email).collect::<Vec<_>>(),
                    "entitlements": entitlements,
                })),
                after: None,
            },
        )
        .await?;
        let users = users.into_iter().map(|(id, _)| id).collect();
        let deleted = sqlx::query("DELETE FROM customers WHERE id = ? AND org_id = ?")
            .bind(id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let change =
            note_change(&mut tx, org_id, Some(id), None, ChangeKind::CustomerRemoved).await?;
        tx.commit().await?;
        self.published([change]);
        Ok(users)
    }

    async fn customer_users(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
    ) -> StoreResult<Vec<CustomerUser>> {
        let rows: Vec<(i64, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT u.id, u.email, u.role, u.created_at FROM users u JOIN customers c ON c.id = u.customer_id \
             WHERE c.id = ? AND c.org_id = ? ORDER BY u.email",
        )
        .bind(customer_id)
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, email, role, created_at)| {
                Ok(CustomerUser {
                    id,
                    email,
                    role: CustomerRole::parse(&role).map_err(|e| StoreError::Internal(e.0))?,
                    created_at,
                })
            })
            .collect()
    }

    async fn delete_customer_user(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        user_id: UserId,
        by: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let removed: Option<(String, String)> = sqlx::query_as(
            "DELETE FROM users WHERE id = ? AND customer_id = ? AND customer_id IN (SELECT id FROM customers WHERE org_id = ?) RETURNING email, role",
        )
        .bind(user_id)
        .bind(customer_id)
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, role)) = removed else {
            return Err(StoreError::NotFound);
        };
        record(
            &mut tx,
            org_id,
            by,
            Change {
                customer_id,
                action: AuditAction::UserRemoved,
                subject: &email,
                before: Some(serde_json::json!({ "email": email, "role": role })),
                after: None,
            },
        )
        .await?;
        let change = note_change(
            &mut tx,
            org_id,
            Some(customer_id),
            Some(user_id),
            ChangeKind::UserChanged,
        )
        .await?;
        tx.commit().await?;
        self.published([change]);
        Ok(())
    }

    async fn entitlements(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
    ) -> StoreResult<Vec<EntitlementView>> {
        self.customer(org_id, customer_id).await?;
        let mut conn = self.pool.acquire().await?;
        load_entitlements(&mut conn, org_id, "e.customer_id = ?", customer_id).await
    }

    async fn entitlement(&self, org_id: OrgId, id: i64) -> StoreResult<EntitlementView> {
        let mut conn = self.pool.acquire().await?;
        load_entitlement(&mut conn, org_id, id).await
    }

    async fn save_entitlement(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        id: Option<i64>,
        e: ValidEntitlement,
        by: &Actor,
    ) -> StoreResult<EntitlementView> {
        let now = Utc::now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let owned: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM customers WHERE id = ? AND org_id = ?)",
        )
        .bind(customer_id)
        .bind(org_id)
        .fetch_one(&mut *tx)
        .await?;
        if !owned {
            return Err(StoreError::NotFound);
        }
        let before = match id {
            Some(id) => {
                let current = load_entitlement(&mut tx, org_id, id).await?;
                if current.customer_id != customer_id {
                    return Err(StoreError::NotFound);
                }
                Some(current)
            }
            None => None,
        };
        let mut errors = std::collections::BTreeMap::new();
        let mut repos = Vec::new();
        for (i, (artifact, grant)) in e.grants.iter().enumerate() {
            let repo: Option<i64> = sqlx::query_scalar(
                "SELECT r.id FROM repositories r WHERE r.org_id = ? AND r.name = ? \
                 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)",
            )
            .bind(org_id)
            .bind(artifact)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(repo) = repo else {
                errors.insert(
                    format!("artifacts[{i}].artifact"),
                    format!("There is no artifact named \"{artifact}\"."),
                );
                continue;
            };
            if let TagGrant::Specific(tags) = grant {
                for tag in tags {
                    let exists: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM tags WHERE repository_id = ? AND name = ?)",
                    )
                    .bind(repo)
                    .bind(tag)
                    .fetch_one(&mut *tx)
                    .await?;
                    if !exists {
                        errors.insert(
                            format!("artifacts[{i}].tags"),
                            format!("\"{artifact}\" has no tag \"{tag}\"."),
                        );
                    }
                }
            }
            repos.push((repo, grant));
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let taken = |e| {
            unique_or(
                e,
                "name",
                "This customer already has an entitlement with this name.".into(),
            )
        };
        let id = match id {
            Some(id) => {
                sqlx::query("UPDATE entitlements SET name = ?, expires_at = ?, updated_at = ? WHERE id = ?")
                    .bind(e.name.as_str())
                    .bind(e.expires_at)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(taken)?;
                sqlx::query("DELETE FROM entitlement_grants WHERE entitlement_id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => sqlx::query_scalar(
                "INSERT INTO entitlements (customer_id, name, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(customer_id)
            .bind(e.name.as_str())
            .bind(e.expires_at)
            .bind(now)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(taken)?,
        };
        for (position, (repo, grant)) in repos.into_iter().enumerate() {
            let (all, tags) = match grant {
                TagGrant::All => (true, "[]".to_owned()),
                TagGrant::Specific(t) => (
                    false,
                    serde_json::to_string(t).unwrap_or_else(|_| "[]".into()),
                ),
            };
            sqlx::query("INSERT INTO entitlement_grants (entitlement_id, repository_id, position, all_tags, tags) VALUES (?, ?, ?, ?, ?)")
                .bind(id)
                .bind(repo)
                .bind(position as i64)
                .bind(all)
                .bind(tags)
                .execute(&mut *tx)
                .await?;
        }
        let after = load_entitlement(&mut tx, org_id, id).await?;
        record(
            &mut tx,
            org_id,
            by,
            Change {
                customer_id,
                action: if before.is_some() {
                    AuditAction::EntitlementUpdated
                } else {
                    AuditAction::EntitlementCreated
                },
                subject: &after.name,
                before: before.as_ref().map(audit_state),
                after: Some(audit_state(&after)),
            },
        )
        .await?;
        let change = note_change(
            &mut tx,
            org_id,
            Some(customer_id),
            None,
            ChangeKind::Entitlements,
        )
        .await?;
        tx.commit().await?;
        self.published([change]);
        Ok(after)
    }

    async fn delete_entitlement(
        &self,
        org_id: OrgId,
        id: i64,
        by: &Actor,
    ) -> StoreResult<CustomerId> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before = load_entitlement(&mut tx, org_id, id).await?;
        sqlx::query("DELETE FROM entitlements WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            org_id,
            by,
            Change {
                customer_id: before.customer_id,
                action: AuditAction::EntitlementDeleted,
                subject: &before.name,
                before: Some(audit_state(&before)),
                after: None,
            },
        )
        .await?;
        let change = note_change(
            &mut tx,
            org_id,
            Some(before.customer_id),
            None,
            ChangeKind::Entitlements,
        )
        .await?;
        tx.commit().await?;
        self.published([change]);
        Ok(before.customer_id)
    }

    async fn audit_events(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        type Row = (
            i64,
            DateTime<Utc>,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            // SQLite may give a new customer the id of a deleted one: while
            // a customer exists, only events since it was created are its own.
            "SELECT a.id, a.at, a.actor, a.action, a.subject, a.before, a.after FROM audit_events a \
             LEFT JOIN customers c ON c.id = a.customer_id AND c.org_id = a.org_id \
             WHERE a.org_id = ? AND a.customer_id = ? AND (c.id IS NULL OR a.at >= c.created_at) \
             ORDER BY a.id DESC LIMIT ?",
        )
        .bind(org_id)
        .bind(customer_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let json = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
        Ok(rows
            .into_iter()
            .filter_map(|(id, at, actor, action, subject, before, after)| {
                Some(AuditEvent {
                    id,
                    at,
                    actor,
                    action: AuditAction::parse(&action)?,
                    subject,
                    before: json(before),
                    after: json(after),
                })
            })
            .collect())
    }

    async fn record_pulls(&self, pulls: &[crate::pulls::NewPull]) -> StoreResult<()> {
        self.insert_pulls(pulls).await
    }

    async fn pulls(
        &self,
        org_id: OrgId,
        query: &crate::pulls::PullQuery,
    ) -> StoreResult<Vec<crate::pulls::Pull>> {
        self.select_pulls(org_id, query).await
    }
}

/// A customer user to insert.
pub(super) struct NewCustomerUserRow<'a> {
    pub customer_id: CustomerId,
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub role: CustomerRole,
}

/// Adds a user to one of the org's customers, with its audit event, inside
/// the caller's transaction.
pub(super) async fn insert_customer_user(
    conn: &mut SqliteConnection,
    org_id: OrgId,
    by: &Actor,
    user: NewCustomerUserRow<'_>,
) -> StoreResult<UserId> {
    let owned: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM customers WHERE id = ? AND org_id = ?)")
            .bind(user.customer_id)
            .bind(org_id)
            .fetch_one(&mut *conn)
            .await?;
    if !owned {
        return Err(StoreError::NotFound);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (org_id, customer_id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(org_id)
    .bind(user.customer_id)
    .bind(user.email.as_str())
    .bind(user.password_hash)
    .bind(user.role.as_str())
    .bind(Utc::now())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_or(e, "email", EMAIL_TAKEN.into()))?;
    record(
        conn,
        org_id,
        by,
        Change {
            customer_id: user.customer_id,
            action: AuditAction::UserAdded,
            subject: user.email.as_str(),
            before: None,
            after: Some(
                serde_json::json!({ "email": user.email.as_str(), "role": user.role.as_str() }),
            ),
        },
    )
    .await?;
    Ok(id)
}

/// One change for the audit trail.
struct Change<'a> {
    customer_id: CustomerId,
    action: AuditAction,
    subject: &'a str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

/// Appends to the audit trail, inside the change's own transaction.
async fn record(
    conn: &mut SqliteConnection,
    org_id: OrgId,
    by: &Actor,
    change: Change<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (org_id, customer_id, actor_user_id, actor, action, subject, before, after, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(org_id)
    .bind(change.customer_id)
    .bind(by.user_id)
    .bind(&by.email)
    .bind(change.action.as_str())
    .bind(change.subject)
    .bind(change.before.map(|v| v.to_string()))
    .bind(change.after.map(|v| v.to_string()))
    .bind(Utc::now())
    .execute(conn)
    .await?;
    Ok(())
}

/// What the audit trail keeps of an entitlement: the API body's fields.
fn audit_state(e: &EntitlementView) -> serde_json::Value {
    serde_json::json!({
        "name": e.name,
        "expires_at": e.expires_at,
        "artifacts": e.artifacts,
    })
}

async fn load_entitlement(
    conn: &mut SqliteConnection,
    org_id: OrgId,
    id: i64,
) -> StoreResult<EntitlementView> {
    load_entitlements(conn, org_id, "e.id = ?", id)
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Entitlements of the org matching `condition` (one `?`, bound to
/// `value`), with their grants: two queries whatever the count.
async fn load_entitlements(
    conn: &mut SqliteConnection,
    org_id: OrgId,
    condition: &str,
    value: i64,
) -> StoreResult<Vec<EntitlementView>> {
    type Row = (
        i64,
        i64,
        String,
        Option<DateTime<Utc>>,
        DateTime<Utc>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT e.id, e.customer_id, e.name, e.expires_at, e.created_at, e.updated_at \
             FROM entitlements e JOIN customers c ON c.id = e.customer_id \
             WHERE c.org_id = ? AND {condition} ORDER BY lower(e.name), e.id"
    ))
    .bind(org_id)
    .bind(value)
    .fetch_all(&mut *conn)
    .await?;
    let grants: Vec<(i64, String, bool, String)> = sqlx::query_as(&format!(
            "SELECT g.entitlement_id, r.name, g.all_tags, g.tags FROM entitlement_grants g \
             JOIN repositories r ON r.id = g.repository_id \
             JOIN entitlements e ON e.id = g.entitlement_id JOIN customers c ON c.id = e.customer_id \
             WHERE c.org_id = ? AND {condition} ORDER BY g.entitlement_id, g.position"
        ))
        .bind(org_id)
        .bind(value)
        .fetch_all(&mut *conn)
        .await?;
    let mut by_entitlement: HashMap<i64, Vec<GrantView>> = HashMap::new();
    for (entitlement, artifact, all, tags) in grants {
        by_entitlement
            .entry(entitlement)
            .or_default()
            .push(GrantView {
                artifact,
                tags: if all {
                    TagsInput::Word("all".into())
                } else {
                    TagsInput::List(serde_json::from_str(&tags).unwrap_or_default())
                },
            });
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, customer_id, name, expires_at, created_at, updated_at)| EntitlementView {
                id,
                customer_id,
                name,
                expires_at,
                artifacts: by_entitlement.remove(&id).unwrap_or_default(),
                created_at,
                updated_at,
            },
        )
        .collect())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A fresh store in a temporary directory (also for the other store modules' tests).
    pub(in crate::store) async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open_file(&dir.path().join("t.db"))
            .await
            .unwrap();
        (dir, s)
    }

    fn new_org(slug: &str) -> NewOrg {
        NewOrg {
            slug: OrgSlug::parse(slug).unwrap(),
            name: DisplayName::parse("Acme").unwrap(),
            plan: Plan::Community,
            trial_ends_at: None,
        }
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[tokio::test]
    async fn customer_changes_are_audited_with_who_and_before_after() {
        let (_dir, s) = store().await;
        let (org, admin) = s
            .create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), false)
            .await
            .unwrap();
        let (other, _) = s
            .create_org_with_admin(new_org("beta"), email("b@beta.test"), "h".into(), false)
            .await
            .unwrap();
        let by = Actor::user(admin.id, "a@acme.test");
        let c = s
            .create_customer(org.id, DisplayName::parse("Globex").unwrap(), &by)
            .await
            .unwrap();
        s.rename_customer(
            org.id,
            c.id,
            DisplayName::parse("Globex Corp").unwrap(),
            &by,
        )
        .await
        .unwrap();
        let uid = s
            .create_customer_user(
                org.id,
                c.id,
                email("c@globex.test"),
                "h".into(),
                CustomerRole::Member,
                &Actor::operator(),
            )
            .await
            .unwrap();
        s.delete_customer_user(org.id, c.id, uid, &by)
            .await
            .unwrap();
        // A refused change records nothing.
        assert!(s
            .rename_customer(other.id, c.id, DisplayName::parse("X").unwrap(), &by)
            .await
            .is_err());
        let events = s.audit_events(org.id, c.id, 50).await.unwrap();
        let summary: Vec<_> = events
            .iter()
            .map(|e| (e.action, e.actor.as_str(), e.subject.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (AuditAction::UserRemoved, "a@acme.test", "c@globex.test"),
                (AuditAction::UserAdded, "portcullis admin", "c@globex.test"),
                (AuditAction::CustomerRenamed, "a@acme.test", "Globex Corp"),
                (AuditAction::CustomerCreated, "a@acme.test", "Globex"),
            ]
        );
        assert_eq!(
            events[2].before,
            Some(serde_json::json!({"name": "Globex"}))
        );
        assert_eq!(
            events[2].after,
            Some(serde_json::json!({"name": "Globex Corp"}))
        );
        assert_eq!(
            events[0].before,
            Some(serde_json::json!({"email": "c@globex.test", "role": "member"}))
        );
        assert_eq!(events[0].after, None);
        assert!(s.audit_events(other.id, c.id, 50).await.unwrap().is_empty());
        assert_eq!(s.audit_events(org.id, c.id, 2).await.unwrap().len(), 2);

        // Deleting the customer keeps its history, with what was removed.
        s.delete_customer(org.id, c.id, &by).await.unwrap();
        let events = s.audit_events(org.id, c.id, 50).await.unwrap();
        assert_eq!(events[0].action, AuditAction::CustomerDeleted);
        assert_eq!(
            events[0].before,
            Some(serde_json::json!({"name": "Globex Corp", "users": [], "entitlements": []}))
        );
        // A new customer never gets the deleted one's id, and has its own
        // history only.
        let again = s
            .create_customer(org.id, DisplayName::parse("Initech").unwrap(), &by)
            .await
            .unwrap();
        assert!(again.id > c.id, "ids are never reused");
        let events = s.audit_events(org.id, again.id, 50).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, AuditAction::CustomerCreated);
        assert_eq!(events[0].subject, "Initech");
    }

    #[tokio::test]
    async fn first_org_only_once() {
        let (_d, s) = store().await;
        assert!(!s.has_orgs().await.unwrap());
        s.create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), true)
            .await
            .unwrap();
        assert!(s.has_orgs().await.unwrap());
        let again = s
            .create_org_with_admin(new_org("beta"), email("b@beta.test"), "h".into(), true)
            .await;
        assert!(matches!(again, Err(StoreError::Rejected(_))));
        // The CLI may add more orgs.
        s.create_org_with_admin(new_org("beta"), email("b@beta.test"), "h".into(), false)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn duplicate_slug_and_email_conflict_and_leave_nothing() {
        let (_d, s) = store().await;
        s.create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), false)
            .await
            .unwrap();
        let dup_slug = s
            .create_org_with_admin(new_org("acme"), email("x@acme.test"), "h".into(), false)
            .await;
        assert!(matches!(dup_slug, Err(StoreError::Conflict { .. })));
        let dup_email = s
            .create_org_with_admin(new_org("beta"), email("a@acme.test"), "h".into(), false)
            .await;
        assert!(matches!(dup_email, Err(StoreError::Conflict { .. })));
        // The failed second insert rolled back the org too.
        assert!(matches!(
            s.org_by_slug(&OrgSlug::parse("beta").unwrap()).await,
            Err(StoreError::NotFound)
        ));
    }

    #[tokio::test]
    async fn last_admin_is_protected() {
        let (_d, s) = store().await;
        let (org, admin) = s
            .create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), false)
            .await
            .unwrap();
        assert!(matches!(
            s.set_vendor_role(org.id, admin.id, VendorRole::ReadOnly)
                .await,
            Err(StoreError::Rejected(_))
        ));
        assert!(matches!(
            s.delete_vendor_user(org.id, admin.id).await,
            Err(StoreError::Rejected(_))
        ));
        let other = s
            .create_vendor_user(org.id, email("b@acme.test"), "h".into(), VendorRole::Admin)
            .await
            .unwrap();
        s.set_vendor_role(org.id, admin.id, VendorRole::ReadOnly)
            .await
            .unwrap();
        s.delete_vendor_user(org.id, admin.id).await.unwrap();
        assert_eq!(s.vendor_users(org.id).await.unwrap(), vec![other]);
    }

    #[tokio::test]
    async fn users_are_scoped_to_their_org() {
        let (_d, s) = store().await;
        let (a, _) = s
            .create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), false)
            .await
            .unwrap();
        let (_b, b_admin) = s
            .create_org_with_admin(new_org("beta"), email("b@beta.test"), "h".into(), false)
            .await
            .unwrap();
        assert!(matches!(
            s.delete_vendor_user(a.id, b_admin.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.set_vendor_role(a.id, b_admin.id, VendorRole::ReadOnly)
                .await,
            Err(StoreError::NotFound)
        ));
    }

    #[tokio::test]
    async fn principals() {
        let (_d, s) = store().await;
        let (org, admin) = s
            .create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), false)
            .await
            .unwrap();
        let vendor = s.principal(admin.id).await.unwrap().unwrap();
        assert_eq!(vendor.vendor_role(), Some(VendorRole::Admin));
        let cust = s
            .create_customer(
                org.id,
                DisplayName::parse("Globex").unwrap(),
                &Actor::operator(),
            )
            .await
            .unwrap();
        let uid = s
            .create_customer_user(
                org.id,
                cust.id,
                email("c@globex.test"),
                "h".into(),
                CustomerRole::Member,
                &Actor::operator(),
            )
            .await
            .unwrap();
        match s.principal(uid).await.unwrap().unwrap() {
            Principal::Customer {
                customer_name,
                role,
                ..
            } => {
                assert_eq!(customer_name, "Globex");
                assert_eq!(role, CustomerRole::Member);
            }
            other => panic!("expected a customer, got {other:?}"),
        }
        assert!(s.principal(9999).await.unwrap().is_none());
        let creds = s
            .credentials(&email("c@globex.test"))
            .await
            .unwrap()
            .unwrap();
        assert!(!format!("{creds:?}").contains("\"h\""));
    }

    #[tokio::test]
    async fn customers_are_scoped_searchable_and_deleted_with_their_users() {
        let (_d, s) = store().await;
        let (a, _) = s
            .create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), false)
            .await
            .unwrap();
        let (b, _) = s
            .create_org_with_admin(new_org("beta"), email("b@beta.test"), "h".into(), false)
            .await
            .unwrap();
        let globex = s
            .create_customer(
                a.id,
                DisplayName::parse("Globex").unwrap(),
                &Actor::operator(),
            )
            .await
            .unwrap();
        s.create_customer(
            a.id,
            DisplayName::parse("Initech 100%").unwrap(),
            &Actor::operator(),
        )
        .await
        .unwrap();
        let other = s
            .create_customer(
                b.id,
                DisplayName::parse("Globex").unwrap(),
                &Actor::operator(),
            )
            .await
            .unwrap();
        let uid = s
            .create_customer_user(
                a.id,
                globex.id,
                email("c@globex.test"),
                "h".into(),
                CustomerRole::Admin,
                &Actor::operator(),
            )
            .await
            .unwrap();
        let names = |v: Vec<CustomerSummary>| {
            v.into_iter()
                .map(|c| (c.name, c.user_count))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(s.customers(a.id, "").await.unwrap()),
            vec![("Globex".into(), 1), ("Initech 100%".into(), 0)]
        );
        assert_eq!(
            names(s.customers(a.id, "GLOB").await.unwrap()),
            vec![("Globex".into(), 1)]
        );
        assert_eq!(
            names(s.customers(a.id, "100%").await.unwrap()),
            vec![("Initech 100%".into(), 0)]
        );
        assert!(
            s.customers(a.id, "_").await.unwrap().is_empty(),
            "LIKE wildcards are escaped"
        );
        // Another org's customer is not found, for every operation.
        assert!(matches!(
            s.customer(a.id, other.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.rename_customer(
                a.id,
                other.id,
                DisplayName::parse("X").unwrap(),
                &Actor::operator()
            )
            .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.delete_customer(a.id, other.id, &Actor::operator()).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.delete_customer_user(b.id, globex.id, uid, &Actor::operator())
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.rename_customer(
                a.id,
                globex.id,
                DisplayName::parse("Initech 100%").unwrap(),
                &Actor::operator()
            )
            .await,
            Err(StoreError::Conflict { field: "name", .. })
        ));
        assert_eq!(
            s.customer_users(a.id, globex.id).await.unwrap()[0].email,
            "c@globex.test"
        );
        assert_eq!(
            s.delete_customer(a.id, globex.id, &Actor::operator())
                .await
                .unwrap(),
            vec![uid]
        );
        assert!(
            s.principal(uid).await.unwrap().is_none(),
            "its users are gone"
        );
        assert_eq!(s.customers(b.id, "").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn set_plan_keeps_trial_end_only_for_trials() {
        let (_d, s) = store().await;
        s.create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), false)
            .await
            .unwrap();
        let slug = OrgSlug::parse("acme").unwrap();
        let end = Utc::now() + chrono::Duration::days(14);
        let org = s.set_plan(&slug, Plan::ProTrial, Some(end)).await.unwrap();
        assert_eq!(org.plan, Plan::ProTrial);
        assert!(org.trial_ends_at.is_some());
        let org = s.set_plan(&slug, Plan::Pro, Some(end)).await.unwrap();
        assert_eq!(org.trial_ends_at, None);
        assert!(matches!(
            s.set_plan(&OrgSlug::parse("nope").unwrap(), Plan::Pro, None)
                .await,
            Err(StoreError::NotFound)
        ));
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
        let count = |sql: &'static str| {
            let pool = s.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            count("SELECT COUNT(*) FROM sessions").await,
            0,
            "bare-id sessions end"
        );
        match s.principal(2).await.unwrap().unwrap() {
            Principal::Customer {
                customer_id, email, ..
            } => assert_eq!((customer_id, email.as_str()), (1, "c@globex.test")),
            other => panic!("{other:?}"),
        }
        use crate::store::RegistryStore as _;
        assert_eq!(s.token_by_hash("hash2").await.unwrap().unwrap().user_id, 2);
        assert_eq!(s.entitlements(1, 1).await.unwrap().len(), 1);
        assert_eq!(s.session_epoch(2).await.unwrap(), Some(0));

        let by = Actor::user(1, "a@acme.test");
        let c = s
            .create_customer(1, DisplayName::parse("Initech").unwrap(), &by)
            .await
            .unwrap();
        assert_eq!(c.id, 3, "customer 2 is still named by the pull log");
        let u = s
            .create_customer_user(
                1,
                c.id,
                email("i@initech.test"),
                "h".into(),
                CustomerRole::Member,
                &by,
            )
            .await
            .unwrap();
        assert_eq!(u, 4, "user 3 is still named by the pull log");
        // Removing the newest user: its id is not handed out again.
        s.delete_customer_user(1, c.id, u, &by).await.unwrap();
        let v = s
            .create_vendor_user(1, email("v@acme.test"), "h".into(), VendorRole::Admin)
            .await
            .unwrap();
        assert_eq!(v.id, 5);

        // References still hold: deleting a customer takes its users, their
        // tokens and sessions; the old pull keeps its mark.
        sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date, user_id) VALUES ('s', x'00', 0, 2)",
        )
        .execute(&s.pool)
        .await
        .unwrap();
        s.delete_customer(1, 1, &by).await.unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM sessions").await, 0);
        assert_eq!(count("SELECT COUNT(*) FROM access_tokens").await, 0);
        assert_eq!(count("SELECT COUNT(*) FROM entitlements").await, 0);
        assert_eq!(count("SELECT customer_gone FROM pulls").await, 1);
    }

    #[tokio::test]
    async fn a_role_or_password_change_moves_the_session_epoch_on() {
        let (_dir, s) = store().await;
        let (org, admin) = s
            .create_org_with_admin(new_org("acme"), email("a@acme.test"), "h".into(), false)
            .await
            .unwrap();
        let rw = s
            .create_vendor_user(
                org.id,
                email("rw@acme.test"),
                "h".into(),
                VendorRole::ReadWrite,
            )
            .await
            .unwrap();
        assert!(s.session_principal(rw.id, 0).await.unwrap().is_some());
        sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date, user_id) VALUES ('s', x'00', 0, ?)",
        )
        .bind(rw.id)
        .execute(&s.pool)
        .await
        .unwrap();
        // The same role: nothing ends.
        s.set_vendor_role(org.id, rw.id, VendorRole::ReadWrite)
            .await
            .unwrap();
        assert_eq!(s.session_epoch(rw.id).await.unwrap(), Some(0));
        s.set_vendor_role(org.id, rw.id, VendorRole::ReadOnly)
            .await
            .unwrap();
        assert_eq!(s.session_epoch(rw.id).await.unwrap(), Some(1));
        assert!(s.session_principal(rw.id, 0).await.unwrap().is_none());
        assert!(s.session_principal(rw.id, 1).await.unwrap().is_some());
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&s.pool)
            .await
            .unwrap();
        assert_eq!(rows, 0);
        assert_eq!(s.session_epoch(admin.id).await.unwrap(), Some(0));
    }
}
