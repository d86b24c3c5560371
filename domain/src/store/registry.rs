//! The registry half of the store: repositories, blobs, manifests, tags and
//! access tokens. Tag lists, catalog and referrers come from here; storage is
//! never scanned.

use super::StoreResult;
use crate::paging::{ArtifactQuery, Page};
use crate::registry::{ArtifactSummary, NewManifest, Referrer, StoredManifest, TagInfo, TokenInfo};
use crate::{OrgId, TokenId, UserId};
use chrono::{DateTime, Utc};

pub type RepoId = i64;

/// A repository as the registry handlers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub id: RepoId,
    pub org_id: OrgId,
    pub name: String,
}

/// What a token lookup yields; the caller checks expiry and revocation.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: TokenId,
    pub user_id: UserId,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// What deleting a manifest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteManifest {
    Deleted,
    NotFound,
    /// Refused: a tag points at it and tags may not move or vanish.
    Tagged,
}

/// Why a manifest could not be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutManifestError {
    /// A referenced blob or child manifest is not in the repository.
    Missing(String),
    /// The tag exists and the org's tags are immutable.
    TagImmutable(String),
}

#[async_trait::async_trait]
pub trait RegistryStore: Send + Sync {
    /// The org id for a slug, if it exists.
    async fn org_id_by_slug(&self, slug: &str) -> StoreResult<Option<(OrgId, bool)>>;
    async fn repo(&self, org_id: OrgId, name: &str) -> StoreResult<Option<Repo>>;
    /// The repository, created if needed (first write).
    async fn ensure_repo(&self, org_id: OrgId, name: &str) -> StoreResult<Repo>;

    /// The size of `digest` if `repo` may serve it.
    async fn repo_blob(&self, repo: RepoId, digest: &str) -> StoreResult<Option<i64>>;
    /// The size of `digest` if it is stored at all.
    async fn blob_size(&self, digest: &str) -> StoreResult<Option<i64>>;
    /// Records a verified blob and links it to `repo`.
    async fn link_blob(&self, repo: RepoId, digest: &str, size: i64) -> StoreResult<()>;
    /// Unlinks a blob from `repo`; `false` when it was not linked.
    async fn unlink_blob(&self, repo: RepoId, digest: &str) -> StoreResult<bool>;

    async fn manifest_by_tag(&self, repo: RepoId, tag: &str)
        -> StoreResult<Option<StoredManifest>>;
    async fn manifest_by_digest(
        &self,
        repo: RepoId,
        digest: &str,
    ) -> StoreResult<Option<StoredManifest>>;
    /// Stores a manifest (and moves each of `tags` to it), checking its
    /// references; all or nothing.
    async fn put_manifest(
        &self,
        repo: RepoId,
        manifest: NewManifest,
        tags: &[&str],
        immutable_tags: bool,
    ) -> StoreResult<Result<(), PutManifestError>>;
    /// Deletes a manifest and the tags pointing at it; with `keep_tagged`,
    /// refuses (in the same transaction) when a tag points at it.
    async fn delete_manifest(
        &self,
        repo: RepoId,
        digest: &str,
        keep_tagged: bool,
    ) -> StoreResult<DeleteManifest>;
    async fn delete_tag(&self, repo: RepoId, tag: &str) -> StoreResult<bool>;

    /// Tags in lexical order after `last`, at most `n`.
    async fn tags(&self, repo: RepoId, last: Option<&str>, n: i64) -> StoreResult<Vec<String>>;
    /// Full repository names (`slug/name`) with at least one manifest, in
    /// lexical order after `last`, at most `n`; `org` limits to one org.
    async fn catalog(
        &self,
        org: Option<OrgId>,
        last: Option<&str>,
        n: i64,
    ) -> StoreResult<Vec<String>>;
    /// Which of `names` (artifact names) are repositories of `org` with at
    /// least one manifest, in lexical order.
    async fn existing_artifacts(&self, org: OrgId, names: &[&str]) -> StoreResult<Vec<String>>;
    async fn referrers(
        &self,
        repo: RepoId,
        subject: &str,
        artifact_type: Option<&str>,
    ) -> StoreResult<Vec<Referrer>>;

    /// A page of the org's artifacts that have at least one manifest, by
    /// name (see [`ArtifactQuery`]); the cursor is an artifact's name.
    async fn artifacts(
        &self,
        org: OrgId,
        query: &ArtifactQuery,
    ) -> StoreResult<Page<ArtifactSummary>>;
    /// An artifact's tags, newest first.
    async fn artifact_tags(
        &self,
        org: OrgId,
        name: &str,
    ) -> StoreResult<Option<(ArtifactSummary, Vec<TagInfo>)>>;
    /// The tags of each of these artifacts (by name; those without tags or
    /// not in the org are left out), newest first, in one query.
    async fn tag_lists(
        &self,
        org: OrgId,
        names: &[String],
    ) -> StoreResult<Vec<(String, Vec<TagInfo>)>>;
    /// The names of every repository of the org, in lexical order: what the
    /// entitlement form's artifact lists offer.
    async fn artifact_names(&self, org: OrgId) -> StoreResult<Vec<String>>;
    /// The tag names of each of these artifacts (by name), newest first, in
    /// one query; an artifact of the org without tags has an empty list, and
    /// names not in the org are left out.
    async fn tag_names(
        &self,
        org: OrgId,
        names: &[String],
    ) -> StoreResult<Vec<(String, Vec<String>)>>;
    async fn set_immutable_tags(&self, org: OrgId, immutable: bool) -> StoreResult<()>;

    async fn create_token(
        &self,
        user: UserId,
        label: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<TokenInfo>;
    /// A token created with token `parent`'s secret, for the parent's user:
    /// it expires no later than the parent (`expires_at` is capped) and is
    /// revoked with it. `None` when the parent is revoked or expired.
    async fn create_child_token(
        &self,
        parent: TokenId,
        label: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<TokenInfo>>;
    async fn tokens(&self, user: UserId) -> StoreResult<Vec<TokenInfo>>;
    /// Revokes one of `user`'s tokens, and the tokens created with it (and
    /// with those, …); returns its hash for cache eviction.
    async fn revoke_token(&self, user: UserId, token_id: TokenId) -> StoreResult<Option<String>>;
    async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;
    /// Writes last-use times collected in memory (batched).
    async fn touch_tokens(&self, uses: &[(TokenId, DateTime<Utc>)]) -> StoreResult<()>;
    async fn user_id_by_email(&self, email: &str) -> StoreResult<Option<UserId>>;
}
