//! The PostgreSQL implementation of [`Store`]: the scale-out configuration
//! (`DATABASE_URL=postgres://…`), one module per aggregate as in
//! `store/sqlite/` (orgs, users, customers, entitlements, audit, links,
//! pulls, registry, access, uploads, upstreams). The [`Store`] implementation below only says
//! where each method lives.
//!
//! Porting a SQLite module: `?` placeholders become `$n`; `BEGIN IMMEDIATE`
//! becomes a plain transaction plus, where SQLite relied on its single
//! writer for a check-then-write, a row lock (`FOR UPDATE`) or an advisory
//! lock; `json_each(?)` becomes `= ANY($n)` with a `&[String]`; a unique
//! violation is mapped with [`unique_or`] exactly as in SQLite; a change-feed
//! row is written with [`access::note_change`] (which also takes the feed's
//! lock and notifies). Integers are BIGINT (`i64`), flags BOOLEAN, times
//! TIMESTAMPTZ: decode every column as the type the SQLite module does.

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

use super::{Credentials, NewOrg, PasswordLinkUser, Store, StoreError, StoreResult};
use crate::audit::{Actor, AuditEvent};
use crate::entitlements::{EntitlementView, ValidEntitlement};
use crate::{
    Customer, CustomerId, CustomerRole, CustomerSummary, CustomerUser, DisplayName, Email,
    EntitlementId, Org, OrgId, OrgSlug, Plan, Principal, UserId, VendorRole, VendorUser,
};
use chrono::{DateTime, Utc};
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

/// `Store` for PostgreSQL: each method is the inherent method of the same
/// name in its aggregate's module.
macro_rules! store_in_modules {
    ($($name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait::async_trait]
        impl Store for PgStore {
            $(async fn $name(&self, $($arg: $ty),*) -> StoreResult<$ret> {
                PgStore::$name(self, $($arg),*).await
            })*
        }
    };
}

store_in_modules! {
    // orgs.rs
    has_orgs() -> bool;
    create_org_with_admin(org: NewOrg, admin_email: Email, password_hash: String,
        only_if_first: bool) -> (Org, VendorUser);
    org_by_slug(slug: &OrgSlug) -> Org;
    org(id: OrgId) -> Org;
    set_plan(slug: &OrgSlug, plan: Plan, trial_ends_at: Option<DateTime<Utc>>) -> Org;
    // users.rs
    credentials(email: &Email) -> Option<Credentials>;
    principal(user_id: UserId) -> Option<Principal>;
    session_principal(user_id: UserId, epoch: i64) -> Option<Principal>;
    session_epoch(user_id: UserId) -> Option<i64>;
    vendor_users(org_id: OrgId) -> Vec<VendorUser>;
    create_vendor_user(org_id: OrgId, email: Email, password_hash: String,
        role: VendorRole) -> VendorUser;
    set_vendor_role(org_id: OrgId, user_id: UserId, role: VendorRole) -> VendorUser;
    delete_vendor_user(org_id: OrgId, user_id: UserId) -> ();
    // links.rs
    create_customer_user_with_link(org_id: OrgId, customer_id: CustomerId, email: Email,
        role: CustomerRole, link: (&str, DateTime<Utc>), by: &Actor) -> UserId;
    password_link(secret_hash: &str, now: DateTime<Utc>) -> Option<PasswordLinkUser>;
    use_password_link(secret_hash: &str, password_hash: String,
        now: DateTime<Utc>) -> Option<UserId>;
    // customers.rs
    create_customer(org_id: OrgId, name: DisplayName, by: &Actor) -> Customer;
    create_customer_user(org_id: OrgId, customer_id: CustomerId, email: Email,
        password_hash: String, role: CustomerRole, by: &Actor) -> UserId;
    customers(org_id: OrgId, query: &crate::paging::CustomerQuery)
        -> crate::paging::Page<CustomerSummary>;
    customer(org_id: OrgId, id: CustomerId) -> Customer;
    rename_customer(org_id: OrgId, id: CustomerId, name: DisplayName, by: &Actor) -> Customer;
    delete_customer(org_id: OrgId, id: CustomerId, by: &Actor) -> Vec<UserId>;
    customer_users(org_id: OrgId, customer_id: CustomerId) -> Vec<CustomerUser>;
    delete_customer_user(org_id: OrgId, customer_id: CustomerId, user_id: UserId, by: &Actor) -> ();
    // entitlements.rs
    entitlements(org_id: OrgId, customer_id: CustomerId) -> Vec<EntitlementView>;
    entitlement(org_id: OrgId, id: EntitlementId) -> EntitlementView;
    save_entitlement(org_id: OrgId, customer_id: CustomerId, id: Option<EntitlementId>,
        entitlement: ValidEntitlement, by: &Actor) -> EntitlementView;
    delete_entitlement(org_id: OrgId, id: EntitlementId, by: &Actor) -> CustomerId;
    // audit.rs
    audit_events(org_id: OrgId, customer_id: CustomerId, limit: i64) -> Vec<AuditEvent>;
    // pulls.rs
    record_pulls(pulls: &[crate::pulls::NewPull]) -> ();
    pulls(org_id: OrgId, query: &crate::pulls::PullQuery) -> Vec<crate::pulls::Pull>;
}
