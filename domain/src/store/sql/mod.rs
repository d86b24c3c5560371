//! The queries of both SQL stores, written once, one module per aggregate,
//! and the [`Store`] implementation that says where each method lives.
//! SQLite and PostgreSQL take the same SQL text: placeholders are numbered
//! (`$1`, `$2`, …; sqlx's SQLite driver binds `$n` by number too, and a `$n`
//! used twice is the same argument on both).
//!
//! This folder is not a module of `store`: each backend compiles it as its
//! own child module (`#[path = "../sql/mod.rs"] mod sql;` in `sqlite/mod.rs`
//! and `postgres/mod.rs`), so here `super::` is the backend. A backend gives,
//! under the same names, what differs:
//!
//! - `SqlStore`, its store type (`SqliteStore`, `PgStore`), which the files
//!   here add methods to, and `Db`, its sqlx database (`Conn` below is that
//!   database's connection);
//! - `SqlStore::begin_write`, a transaction for a change (SQLite: `BEGIN
//!   IMMEDIATE`, its one writer; PostgreSQL: a plain transaction), and the
//!   locks a check-then-write takes in it: `lock_first_run`, `lock_org`,
//!   `lock_repo`, the clauses `FOR_SHARE` and `FOR_UPDATE` (PostgreSQL's
//!   row and advisory locks; on SQLite nothing, the one writer suffices);
//! - `write_turn`, the queue of SQLite's frequent writers (PostgreSQL takes
//!   concurrent writers: nothing to wait for);
//! - `text`, a request's text as the database can take it (PostgreSQL
//!   refuses the NUL character; SQLite takes text as it is);
//! - `list` and `in_list`, a list of names as one parameter (SQLite: JSON
//!   text and `json_each`; PostgreSQL: an array and `= ANY`);
//! - the change feed's `append_change` and `published` (PostgreSQL: its
//!   advisory lock, NOTIFY, and the wait for the other servers), and the few
//!   statements that differ (`link_blob`, `open_upload_ids`), in the
//!   backend's module of that aggregate.
//!
//! A row type both decode goes in `store/rows.rs` (or here, beside its
//! queries); decode each column as a type both databases give (integers
//! `i64`, flags `bool`, times `DateTime<Utc>`).

pub(super) mod access;
pub(super) mod audit;
pub(super) mod customers;
pub(super) mod entitlements;
pub(super) mod links;
pub(super) mod orgs;
pub(super) mod pulls;
pub(super) mod registry;
pub(super) mod uploads;
pub(super) mod upstreams;
pub(super) mod users;

pub(super) use super::{text, Db, SqlStore};
use crate::audit::{Actor, AuditEvent};
use crate::entitlements::{EntitlementView, ValidEntitlement};
use crate::store::{Credentials, NewOrg, PasswordLinkUser, Store, StoreError, StoreResult};
use crate::{
    Customer, CustomerId, CustomerRole, CustomerSummary, CustomerUser, DisplayName, Email,
    EntitlementId, Org, OrgId, OrgSlug, Plan, Principal, UserId, VendorRole, VendorUser,
};
use chrono::{DateTime, Utc};

/// The backend's connection.
pub(super) type Conn = <Db as sqlx::Database>::Connection;

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

/// `Store`: each method is the inherent method of the same name in its
/// aggregate's module.
macro_rules! store_in_modules {
    ($($name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait::async_trait]
        impl Store for SqlStore {
            $(async fn $name(&self, $($arg: $ty),*) -> StoreResult<$ret> {
                SqlStore::$name(self, $($arg),*).await
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
