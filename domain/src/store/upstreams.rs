//! The upstream half of the store (issue 14): mirrored artifacts' upstreams,
//! their sync schedule, the lease that keeps one sync per upstream across
//! instances, and their audit events. Portable SQL in the SQLite module
//! (`sql/upstreams.rs`, for SQLite and PostgreSQL alike).

use super::StoreResult;
use crate::audit::Actor;
use crate::upstreams::{Upstream, ValidUpstream};
use crate::{OrgId, UpstreamId};
use chrono::{DateTime, Utc};
use std::fmt;

/// A stored secret, encrypted by the services layer: opaque here, and
/// never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub String);

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedSecret(<redacted>)")
    }
}

/// An upstream row: what its org sees, plus what only the sync reads.
#[derive(Debug, Clone)]
pub struct UpstreamRecord {
    pub org_id: OrgId,
    pub view: Upstream,
    pub secret: Option<SealedSecret>,
}

/// What an update does to the stored secret.
#[derive(Debug, Clone)]
pub enum SecretChange {
    Keep,
    Clear,
    Set(SealedSecret),
}

/// How a sync ended.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// `None` on success; otherwise the error in words.
    pub error: Option<String>,
    pub tags_synced: Vec<String>,
    pub at: DateTime<Utc>,
    /// Unix seconds: when the next one is due.
    pub next_sync_at: i64,
}

#[async_trait::async_trait]
pub trait UpstreamStore: Send + Sync {
    /// Creates the upstream of `upstream.artifact` (due at `due`, Unix
    /// seconds) and records the audit event; `None` when the artifact
    /// already has one.
    async fn create_upstream(
        &self,
        org_id: OrgId,
        upstream: &ValidUpstream,
        secret: Option<SealedSecret>,
        due: i64,
        by: &Actor,
    ) -> StoreResult<Option<UpstreamRecord>>;
    /// The org's upstreams, by artifact.
    async fn upstreams(&self, org_id: OrgId) -> StoreResult<Vec<UpstreamRecord>>;
    /// One of the org's upstreams (another org's is `NotFound`).
    async fn upstream(&self, org_id: OrgId, id: UpstreamId) -> StoreResult<UpstreamRecord>;
    /// The upstream of an artifact of the org, if it has one.
    async fn upstream_of_artifact(
        &self,
        org_id: OrgId,
        artifact: &str,
    ) -> StoreResult<Option<UpstreamRecord>>;
    /// Any upstream by id (the sync engine).
    async fn upstream_by_id(&self, id: UpstreamId) -> StoreResult<Option<UpstreamRecord>>;
    /// Replaces the settings (the artifact stays) and records the event.
    async fn update_upstream(
        &self,
        org_id: OrgId,
        id: UpstreamId,
        upstream: &ValidUpstream,
        secret: SecretChange,
        by: &Actor,
    ) -> StoreResult<UpstreamRecord>;
    async fn delete_upstream(&self, org_id: OrgId, id: UpstreamId, by: &Actor) -> StoreResult<()>;
    /// Makes the upstream due at `now` (Unix seconds) and records who asked.
    async fn request_sync(
        &self,
        org_id: OrgId,
        id: UpstreamId,
        now: i64,
        by: &Actor,
    ) -> StoreResult<()>;
    /// Upstreams due at `now` whose lease is free, soonest first.
    async fn due_upstreams(&self, now: i64, limit: i64) -> StoreResult<Vec<UpstreamId>>;
    /// Takes the sync lease until `until` when it is free at `now` (a
    /// conditional update: of several instances, one gets it), or renews
    /// it when `owner` holds it. Taking it sets the state to syncing and
    /// clears the progress.
    async fn take_upstream_lease(
        &self,
        id: UpstreamId,
        owner: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<bool>;
    /// The running sync's progress (only while `owner` holds the lease).
    async fn set_sync_progress(
        &self,
        id: UpstreamId,
        owner: &str,
        tags_done: i64,
        tags_total: i64,
        bytes: i64,
    ) -> StoreResult<()>;
    /// Ends a sync: state, last error or success, tags synced, next due
    /// time; frees the lease (only `owner`'s).
    async fn finish_sync(
        &self,
        id: UpstreamId,
        owner: &str,
        outcome: &SyncOutcome,
    ) -> StoreResult<()>;
}
