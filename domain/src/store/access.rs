//! The access half of the store: what the in-memory access cache loads
//! ([`crate::access`]) and the change feed ([`crate::changes`]).

use super::registry::RepoId;
use super::StoreResult;
use crate::changes::{Change, ChangeHub};
use crate::policy::{Entitlement, OrgFacts, RepoGraph};
use crate::{CustomerId, OrgId};

#[async_trait::async_trait]
pub trait AccessStore: Send + Sync {
    /// The facts rule 1 needs: plan, trial end, whether any entitlement exists.
    async fn org_facts(&self, org_id: OrgId) -> StoreResult<OrgFacts>;
    /// A customer's entitlements (expired ones too) as the rules need them;
    /// empty for a customer that is not the org's.
    async fn policy_entitlements(
        &self,
        org_id: OrgId,
        customer: CustomerId,
    ) -> StoreResult<Vec<Entitlement>>;
    /// Tags, tag history, index children, referrers and blobs of a repository.
    async fn repo_graph(&self, repo: RepoId) -> StoreResult<RepoGraph>;

    /// This process's change hub: writes publish to it after commit.
    fn change_hub(&self) -> &std::sync::Arc<ChangeHub>;
    /// Committed changes after `after`, oldest first, at most `limit`.
    async fn changes_since(&self, after: i64, limit: i64) -> StoreResult<Vec<Change>>;
    /// `org_id`'s changes after `after` (a change id), oldest first, at
    /// most `limit`: what a live-update stream missed between a page's
    /// render and its connection.
    async fn org_changes_after(
        &self,
        org_id: OrgId,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<Change>>;
    /// The id of the newest change (0 when none).
    async fn last_change_id(&self) -> StoreResult<i64>;
    /// Deletes changes older than a day (every instance has long seen them).
    async fn prune_changes(&self) -> StoreResult<()>;
    /// Records that server `instance` has applied the feed up to `applied`
    /// (and is alive); `None` removes it (shutdown).
    async fn report_applied(&self, instance: &str, applied: Option<i64>) -> StoreResult<()>;
    /// Whether every server seen alive since `alive_since` has applied the
    /// feed up to `id`.
    async fn all_applied(
        &self,
        id: i64,
        alive_since: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool>;
}
