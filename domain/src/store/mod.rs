//! Persistence. Callers hold an `Arc<dyn Store>`; the SQLite implementation is
//! the embedded default and a PostgreSQL one can sit beside it (same trait,
//! same contract tests) without any caller changing.

mod access;
#[cfg(test)]
mod contract;
mod postgres;
mod registry;
mod rows;
mod sqlite;
mod uploads;
mod upstreams;

pub use access::AccessStore;

pub use postgres::{PgStore, CHANGES_CHANNEL};
pub use registry::{DeleteManifest, PutManifestError, RegistryStore, Repo, RepoId, TokenRecord};
pub use sqlite::SqliteStore;
pub use uploads::{FeedReader, PoolUse, StoredUpload, UploadSession, UploadStore};
pub use upstreams::{SealedSecret, SecretChange, SyncOutcome, UpstreamRecord, UpstreamStore};

use crate::audit::{Actor, AuditEvent};
use crate::entitlements::{EntitlementView, ValidEntitlement};
use crate::paging::{CustomerQuery, Page};
use crate::{
    Customer, CustomerId, CustomerRole, CustomerSummary, CustomerUser, DisplayName, Email,
    EntitlementId, Org, OrgId, OrgSlug, Plan, Principal, UserId, VendorRole, VendorUser,
};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What went wrong in the store, as a type: the words a person reads are
/// [`crate::messages`]' (which also gives the `Display`), and `Internal`
/// keeps its source for the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    NotFound,
    /// An organization with this slug exists.
    SlugTaken(OrgSlug),
    /// A user with this email exists (emails are unique across the server).
    EmailTaken,
    /// The organization has a customer with this name.
    CustomerNameTaken,
    /// The customer has an entitlement with this name.
    EntitlementNameTaken,
    /// A first-run request once an organization exists.
    AlreadySetUp,
    /// The change would leave the organization without an admin.
    LastAdmin(LastAdminChange),
    /// An entitlement names artifacts or tags the organization does not have.
    UnknownGrants(Vec<UnknownGrant>),
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Password hashing had no free turn (see [`crate::password::Busy`]):
    /// answered 503 with `Retry-After`.
    Busy(#[from] crate::password::Busy),
}

/// How a change would have left the organization without an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastAdminChange {
    /// Its last admin given another role.
    Demoted,
    /// Its last admin removed.
    Removed,
}

/// What an entitlement names that is not there; `index` is the grant's
/// position in the entitlement's artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownGrant {
    Artifact {
        index: usize,
        artifact: String,
    },
    Tag {
        index: usize,
        artifact: String,
        tag: String,
    },
}

impl StoreError {
    /// An internal error from anything that is one.
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Internal(e.into())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            other => StoreError::Internal(Box::new(other)),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A new vendor organization.
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub slug: OrgSlug,
    pub name: DisplayName,
    pub plan: Plan,
    pub trial_ends_at: Option<DateTime<Utc>>,
}

/// What sign-in needs: the user and its stored hash. Never leaves the server.
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: String,
    /// The user's session epoch when the hash was read: a session started
    /// from these credentials carries it, so a password change made while
    /// they were being checked leaves that session invalid.
    pub session_epoch: i64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user_id", &self.user_id)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// Whom a valid set-password link is for.
#[derive(Debug, Clone)]
pub struct PasswordLinkUser {
    pub user_id: UserId,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait Store:
    RegistryStore + AccessStore + UploadStore + UpstreamStore + Send + Sync + 'static
{
    /// Whether any vendor organization exists (first-run detection).
    async fn has_orgs(&self) -> StoreResult<bool>;

    /// Creates an organization and its first admin in one transaction.
    /// With `only_if_first`, refuses when any organization already exists
    /// (the first-run page), atomically.
    async fn create_org_with_admin(
        &self,
        org: NewOrg,
        admin_email: Email,
        password_hash: String,
        only_if_first: bool,
    ) -> StoreResult<(Org, VendorUser)>;

    async fn org_by_slug(&self, slug: &OrgSlug) -> StoreResult<Org>;
    async fn org(&self, id: OrgId) -> StoreResult<Org>;
    async fn set_plan(
        &self,
        slug: &OrgSlug,
        plan: Plan,
        trial_ends_at: Option<DateTime<Utc>>,
    ) -> StoreResult<Org>;

    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>>;
    /// The principal a user acts as, or `None` when the user no longer exists.
    async fn principal(&self, user_id: UserId) -> StoreResult<Option<Principal>>;
    /// The principal of a session holding `user_id` and `epoch`: `None` when
    /// the user is gone or its session epoch moved on (role or password
    /// changed since the session began), which signs the session out.
    async fn session_principal(
        &self,
        user_id: UserId,
        epoch: i64,
    ) -> StoreResult<Option<Principal>>;
    /// The user's current session epoch (what a new session records).
    async fn session_epoch(&self, user_id: UserId) -> StoreResult<Option<i64>>;

    /// Adds a customer user with no usable password yet
    /// ([`crate::password::UNUSABLE`]) and a one-time set-password link,
    /// stored by the sha256 of its secret, in one transaction.
    async fn create_customer_user_with_link(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        email: Email,
        role: CustomerRole,
        link: (&str, DateTime<Utc>),
        by: &Actor,
    ) -> StoreResult<UserId>;
    /// The user a set-password link is for, while it is unused and unexpired
    /// at `now`; `None` for an unknown, used or expired link alike.
    async fn password_link(
        &self,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PasswordLinkUser>>;
    /// Uses a set-password link: marks it used and sets the user's password
    /// hash, atomically (of two concurrent uses, one wins). `None` when the
    /// link is unknown, used or expired.
    async fn use_password_link(
        &self,
        secret_hash: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>>;

    async fn vendor_users(&self, org_id: OrgId) -> StoreResult<Vec<VendorUser>>;
    async fn create_vendor_user(
        &self,
        org_id: OrgId,
        email: Email,
        password_hash: String,
        role: VendorRole,
    ) -> StoreResult<VendorUser>;
    /// Changes a vendor user's role; refuses to leave the org without an
    /// admin. A changed role ends the user's sessions (epoch bumped, session
    /// rows deleted, in the same transaction).
    async fn set_vendor_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: VendorRole,
    ) -> StoreResult<VendorUser>;
    /// Removes a vendor user; refuses to remove the last admin.
    async fn delete_vendor_user(&self, org_id: OrgId, user_id: UserId) -> StoreResult<()>;

    /// The write methods about customers and entitlements take `by`, who
    /// makes the change: each records an audit event in its transaction.
    async fn create_customer(
        &self,
        org_id: OrgId,
        name: DisplayName,
        by: &Actor,
    ) -> StoreResult<Customer>;
    async fn create_customer_user(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        email: Email,
        password_hash: String,
        role: CustomerRole,
        by: &Actor,
    ) -> StoreResult<UserId>;
    /// A page of the org's customers (see [`CustomerQuery`]), by name
    /// (case-insensitive, then exactly); the cursor is a customer's name.
    async fn customers(
        &self,
        org_id: OrgId,
        query: &CustomerQuery,
    ) -> StoreResult<Page<CustomerSummary>>;
    /// One customer of the org (another org's customer is not found).
    async fn customer(&self, org_id: OrgId, id: CustomerId) -> StoreResult<Customer>;
    async fn rename_customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
        name: DisplayName,
        by: &Actor,
    ) -> StoreResult<Customer>;
    /// Deletes a customer with its users (and their tokens); returns the user ids.
    async fn delete_customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
        by: &Actor,
    ) -> StoreResult<Vec<UserId>>;
    async fn customer_users(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
    ) -> StoreResult<Vec<CustomerUser>>;
    async fn delete_customer_user(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        user_id: UserId,
        by: &Actor,
    ) -> StoreResult<()>;

    /// A customer's entitlements, by name (the customer must be the org's).
    async fn entitlements(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
    ) -> StoreResult<Vec<EntitlementView>>;
    async fn entitlement(&self, org_id: OrgId, id: EntitlementId) -> StoreResult<EntitlementView>;
    /// Creates (`id` None) or replaces an entitlement of the customer. Unknown
    /// artifacts or tags are `Invalid` by field; a taken name is a conflict.
    async fn save_entitlement(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        id: Option<EntitlementId>,
        entitlement: ValidEntitlement,
        by: &Actor,
    ) -> StoreResult<EntitlementView>;
    /// Deletes an entitlement; returns its customer.
    async fn delete_entitlement(
        &self,
        org_id: OrgId,
        id: EntitlementId,
        by: &Actor,
    ) -> StoreResult<CustomerId>;
    /// The customer's audit trail, newest first (at most `limit` events).
    async fn audit_events(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;

    /// Appends pulls to the pull log, all in one transaction (the batched
    /// writer's flush). A pull of a customer deleted meanwhile is recorded
    /// as such.
    async fn record_pulls(&self, pulls: &[crate::pulls::NewPull]) -> StoreResult<()>;
    /// An organization's pulls, newest first, as `query` selects them. A
    /// `customer` filter leaves out pulls of an earlier, deleted customer
    /// that had the same id.
    async fn pulls(
        &self,
        org_id: OrgId,
        query: &crate::pulls::PullQuery,
    ) -> StoreResult<Vec<crate::pulls::Pull>>;
}

pub type DynStore = Arc<dyn Store>;
