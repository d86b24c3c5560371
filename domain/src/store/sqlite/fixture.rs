//! Test support for the store's tests: a store in a temporary directory and
//! a builder for what a test needs in it (orgs, customers, users), each step
//! unwrapped. `Fixture` derefs to the store.

use super::SqliteStore;
use crate::audit::Actor;
use crate::store::NewOrg;
use crate::{
    Customer, CustomerId, CustomerRole, DisplayName, Email, Org, OrgId, OrgSlug, Plan, UserId,
    VendorRole, VendorUser,
};

pub(in crate::store) struct Fixture {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Fixture {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

impl Fixture {
    /// A fresh, empty store.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_file(&dir.path().join("t.db"))
            .await
            .unwrap();
        Fixture { store, _dir: dir }
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
        sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date, user_id) VALUES (?, x'00', 0, ?)",
        )
        .bind(id)
        .bind(user)
        .execute(self.store.pool())
        .await
        .unwrap();
    }

    /// The answer of a `SELECT COUNT(*) …`.
    pub async fn count(&self, sql: &str) -> i64 {
        count(&self.store, sql).await
    }
}

/// The answer of a `SELECT COUNT(*) …` (or any one number) in `store`.
pub(in crate::store) async fn count(store: &SqliteStore, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// A new community-plan organization named Acme.
pub(in crate::store) fn new_org(slug: &str) -> NewOrg {
    NewOrg {
        slug: OrgSlug::parse(slug).unwrap(),
        name: DisplayName::parse("Acme").unwrap(),
        plan: Plan::Community,
        trial_ends_at: None,
    }
}

pub(in crate::store) fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub(in crate::store) fn name(s: &str) -> DisplayName {
    DisplayName::parse(s).unwrap()
}
