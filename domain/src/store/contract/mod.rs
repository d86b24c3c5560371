//! The store contract: one test suite that every [`Store`] implementation
//! passes. Each test is an `async fn(Fixture)`; [`contract_tests!`] runs it
//! once on a SQLite file in a temporary directory and once on a fresh
//! database in a throwaway PostgreSQL cluster ([`crate::testing::postgres`]).
//! A new test: write it in its aggregate's module and add its name to the
//! list at the bottom.

mod audit;
mod customers;
mod feed;
mod links;
mod orgs;
mod pulls;
mod registry;
mod uploads;
mod upstreams;
mod users;

use crate::audit::Actor;
use crate::store::{NewOrg, PgStore, SqliteStore, Store};
use crate::{
    Customer, CustomerId, CustomerRole, DisplayName, Email, Org, OrgId, OrgSlug, Plan, UserId,
    VendorRole, VendorUser,
};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What the tests import.
mod prelude {
    pub(super) use super::{email, name, new_org, Fixture};
    pub(super) use crate::audit::{Actor, AuditAction};
    pub(super) use crate::paging::{ArtifactQuery, CustomerQuery};
    pub(super) use crate::pulls::{NewPull, PullQuery};
    pub(super) use crate::store::{LastAdminChange, StoreError, StoreResult};
    pub(super) use crate::{
        CustomerId, CustomerRole, CustomerSummary, Org, OrgId, OrgSlug, Plan, Principal, UserId,
        VendorRole, VendorUser,
    };
    pub(super) use chrono::{Duration, SubsecRound, Utc};
}

/// The backend under test, for the few statements a test makes directly.
#[derive(Clone)]
enum Db {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// `$body` with `$pool` the backend's connection pool: one expression,
/// compiled for each database.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite(s) => {
                let $pool = s.pool();
                $body
            }
            Db::Postgres(s) => {
                let $pool = s.pool();
                $body
            }
        }
    };
}

/// A fresh, empty store and a builder for what a test needs in it (orgs,
/// customers, users), each step unwrapped. Derefs to the store.
#[derive(Clone)]
pub(super) struct Fixture {
    store: Arc<dyn Store>,
    db: Db,
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl std::ops::Deref for Fixture {
    type Target = dyn Store;
    fn deref(&self) -> &dyn Store {
        &*self.store
    }
}

impl Fixture {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_file(&dir.path().join("t.db"))
            .await
            .unwrap();
        Fixture {
            store: Arc::new(store.clone()),
            db: Db::Sqlite(store),
            _dir: Some(Arc::new(dir)),
        }
    }

    pub async fn postgres() -> Self {
        let url = tokio::task::spawn_blocking(crate::testing::postgres::fresh_database)
            .await
            .unwrap();
        let store = PgStore::connect(&url).await.unwrap();
        Fixture {
            store: Arc::new(store.clone()),
            db: Db::Postgres(store),
            _dir: None,
        }
    }

    /// An open upload session `id` with no parts, stored as the version
    /// before migration 0014 stored one at its POST.
    pub async fn add_legacy_upload(&self, id: &str, repo: i64, name: &str) {
        const SQL: &str = "INSERT INTO upload_sessions \
            (id, repository_id, name, size, parts, started_at, touched_at) \
            VALUES ($1, $2, $3, 0, '', $4, $4)";
        on_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(id)
            .bind(repo)
            .bind(name)
            .bind(Utc::now())
            .execute(pool)
            .await
            .map(drop))
        .unwrap();
    }

    /// The store as the server holds it.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// An organization `slug` on the community plan, with its admin
    /// `admin@{slug}.test`.
    pub async fn add_org(&self, slug: &str) -> (Org, VendorUser) {
        self.store
            .create_org_with_admin(
                new_org(slug),
                email(&format!("admin@{slug}.test")),
                "h".into(),
                false,
            )
            .await
            .unwrap()
    }

    pub async fn add_vendor_user(&self, org: OrgId, address: &str, role: VendorRole) -> VendorUser {
        self.store
            .create_vendor_user(org, email(address), "h".into(), role)
            .await
            .unwrap()
    }

    /// A customer of `org`, added by the operator.
    pub async fn add_customer(&self, org: OrgId, name: &str) -> Customer {
        self.store
            .create_customer(org, DisplayName::parse(name).unwrap(), &Actor::operator())
            .await
            .unwrap()
    }

    /// A user of the customer, added by the operator.
    pub async fn add_customer_user(
        &self,
        org: OrgId,
        customer: CustomerId,
        address: &str,
        role: CustomerRole,
    ) -> UserId {
        self.store
            .create_customer_user(
                org,
                customer,
                email(address),
                "h".into(),
                role,
                &Actor::operator(),
            )
            .await
            .unwrap()
    }

    /// A session row of `user`, as the session store writes it.
    pub async fn add_session(&self, id: &str, user: UserId) {
        let sql = match self.db {
            Db::Sqlite(_) => "INSERT INTO sessions (id, data, expiry_date, user_id) VALUES ($1, x'00', 0, $2)",
            Db::Postgres(_) => "INSERT INTO sessions (id, data, expiry_date, user_id) VALUES ($1, '\\x00', now(), $2)",
        };
        on_pool!(&self.db, pool => sqlx::query(sql).bind(id).bind(user).execute(pool).await.map(drop))
            .unwrap();
    }

    /// An entitlement row without grants (what the form cannot make: an
    /// expiry in the past).
    pub async fn add_entitlement_row(
        &self,
        customer: CustomerId,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let now = Utc::now();
        let sql =
            "INSERT INTO entitlements (customer_id, name, expires_at, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        on_pool!(&self.db, pool => sqlx::query(sql)
            .bind(customer)
            .bind(name)
            .bind(expires_at)
            .bind(now)
            .bind(now)
            .execute(pool)
            .await
            .map(drop))
        .unwrap();
    }

    /// The answer of a `SELECT COUNT(*) …` (or any one integer).
    pub async fn count(&self, sql: &str) -> i64 {
        on_pool!(&self.db, pool => sqlx::query_scalar(sql).fetch_one(pool).await).unwrap()
    }
}

/// A new community-plan organization named Acme.
pub(super) fn new_org(slug: &str) -> NewOrg {
    NewOrg {
        slug: OrgSlug::parse(slug).unwrap(),
        name: DisplayName::parse("Acme").unwrap(),
        plan: Plan::Community,
        trial_ends_at: None,
    }
}

pub(super) fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub(super) fn name(s: &str) -> DisplayName {
    DisplayName::parse(s).unwrap()
}

/// Each test once per backend: `store::contract::sqlite::<name>` and
/// `store::contract::postgres::<name>`.
macro_rules! contract_tests {
    ($($module:ident::$name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$module::$name(super::Fixture::sqlite().await).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$module::$name(super::Fixture::postgres().await).await
            })*
        }
    };
}

contract_tests! {
    orgs::first_org_only_once,
    orgs::duplicate_slug_and_email_conflict_and_leave_nothing,
    orgs::set_plan_keeps_trial_end_only_for_trials,
    users::last_admin_is_protected,
    users::users_are_scoped_to_their_org,
    users::principals,
    users::a_role_or_password_change_moves_the_session_epoch_on,
    customers::customers_are_scoped_searchable_and_deleted_with_their_users,
    customers::customers_filter_by_an_entitlement_ending_soon,
    customers::customers_page_by_name_with_a_cursor,
    audit::customer_changes_are_audited_with_who_and_before_after,
    links::a_link_works_once_until_it_expires,
    pulls::pulls_are_read_per_customer_and_per_artifact_newest_first,
    pulls::a_large_batch_is_written_whole_and_in_order,
    feed::writes_append_to_the_feed_in_commit_order,
    feed::readers_report_how_far_they_applied,
    feed::concurrent_writers_never_leave_a_gap_behind_a_reader,
    registry::manifests_tags_and_listings,
    registry::tokens_are_revoked_with_their_children,
    registry::lookups_with_a_nul_character_find_nothing,
    uploads::sessions_append_once_and_end_once,
    uploads::ending_with_the_blob_links_it_only_for_the_closer,
    upstreams::one_upstream_per_artifact_and_invisible_to_other_orgs,
    upstreams::the_lease_admits_one_sync_at_a_time,
    upstreams::concurrent_takers_get_the_lease_once,
}
