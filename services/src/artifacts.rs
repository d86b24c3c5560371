//! What a caller may see of the organization's artifacts (SPEC §3): the
//! portal's list, `GET /api/v1/artifacts`, the registry's pulls.

use crate::authz::{self, Need};
use crate::{ServiceError, ServiceResult, Services};
use domain::access::CustomerAccess;
use domain::paging::{ArtifactQuery, Page};
use domain::policy::Visibility;
use domain::registry::{ArtifactSummary, TagInfo};
use domain::store::StoreError;
use domain::Principal;
use std::collections::HashMap;
use std::sync::Arc;

/// An artifact with the tags its viewer may pull, newest first.
pub type VisibleArtifact = (ArtifactSummary, Vec<TagInfo>);

impl Services {
    /// How many artifacts' tag lists one [`tag_names`](Self::tag_names)
    /// call reads at most (an entitlement has far fewer rows).
    pub const MAX_TAG_LISTS: usize = 200;

    /// A page of the organization's artifacts by name (the console's
    /// Artifacts page). Any vendor user.
    pub async fn org_artifacts(
        &self,
        p: &Principal,
        query: &ArtifactQuery,
    ) -> ServiceResult<Page<ArtifactSummary>> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self.store.artifacts(me.org_id, query).await?)
    }

    /// One artifact of the organization with all its tags, newest first
    /// (another org's is not found). Any vendor user.
    pub async fn org_artifact(&self, p: &Principal, name: &str) -> ServiceResult<VisibleArtifact> {
        let me = authz::vendor(p, Need::Read)?;
        self.store
            .artifact_tags(me.org_id, name)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// The names of the organization's artifacts (what the entitlement
    /// form's artifact lists offer). Any vendor user.
    pub async fn artifact_names(&self, p: &Principal) -> ServiceResult<Vec<String>> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self.store.artifact_names(me.org_id).await?)
    }

    /// The tag names of these artifacts of the organization, newest first
    /// (what an entitlement form's row offers once its artifact is chosen);
    /// another org's artifacts are left out. At most
    /// [`MAX_TAG_LISTS`](Self::MAX_TAG_LISTS) names are read. Any vendor user.
    pub async fn tag_names(
        &self,
        p: &Principal,
        names: &[String],
    ) -> ServiceResult<Vec<(String, Vec<String>)>> {
        let me = authz::vendor(p, Need::Read)?;
        let names = &names[..names.len().min(Self::MAX_TAG_LISTS)];
        Ok(self.store.tag_names(me.org_id, names).await?)
    }

    /// What `principal` may see now: everything of its org for a vendor
    /// user; a customer's compiled entitlements, from memory.
    pub async fn visibility(
        &self,
        principal: &Principal,
    ) -> Result<Arc<CustomerAccess>, StoreError> {
        match principal {
            Principal::Customer {
                org_id,
                customer_id,
                ..
            } => {
                self.access
                    .customer(&*self.store, *org_id, *customer_id, self.clock.now())
                    .await
            }
            Principal::Vendor { org_id, .. } => Ok(Arc::new(CustomerAccess::everything(*org_id))),
        }
    }

    /// Every artifact `principal` may see, by name, each with only the tags
    /// it may pull, newest first (the portal's list).
    pub async fn visible_artifacts(
        &self,
        principal: &Principal,
    ) -> ServiceResult<Vec<VisibleArtifact>> {
        let everything = ArtifactQuery {
            limit: i64::MAX - 1,
            ..ArtifactQuery::default()
        };
        Ok(self
            .visible_artifacts_page(principal, everything, None)
            .await?
            .items)
    }

    /// A page of the artifacts `principal` may see, by name, each with only
    /// the tags it may pull, newest first (`GET /api/v1/artifacts`): two
    /// queries a page, the summaries and all their tags. With `max_tags`, the
    /// page ends before the artifact that would take it past that many tags
    /// (counting all of each artifact's tags; at least one artifact a page).
    pub async fn visible_artifacts_page(
        &self,
        principal: &Principal,
        mut query: ArtifactQuery,
        max_tags: Option<i64>,
    ) -> ServiceResult<Page<VisibleArtifact>> {
        let access = self.visibility(principal).await?;
        // Only the granted artifacts are read (a customer sees a few of the
        // org's many).
        query.only = match &access.visibility {
            Visibility::Everything => None,
            Visibility::Granted(grants) => Some(grants.keys().cloned().collect()),
        };
        let mut page = self.store.artifacts(access.org_id, &query).await?;
        if let Some(max) = max_tags {
            let mut total = 0;
            let keep = page
                .items
                .iter()
                .take_while(|a| {
                    total += a.tag_count;
                    total <= max
                })
                .count()
                .max(1);
            if keep < page.items.len() {
                page.items.truncate(keep);
                page.next = page.items.last().map(|a| a.name.clone());
            }
        }
        let names: Vec<String> = page.items.iter().map(|a| a.name.clone()).collect();
        let mut tag_lists: HashMap<String, Vec<TagInfo>> = self
            .store
            .tag_lists(access.org_id, &names)
            .await?
            .into_iter()
            .collect();
        let mut items = Vec::with_capacity(page.items.len());
        for artifact in page.items {
            let tags = tag_lists.remove(&artifact.name).unwrap_or_default();
            items.push(self.as_seen_by(&access, artifact, tags).await?);
        }
        Ok(Page {
            items,
            next: page.next,
        })
    }

    /// One artifact as `access` sees it; `None` when it does not exist or
    /// is not visible (the same answer).
    pub async fn visible_artifact(
        &self,
        access: &CustomerAccess,
        name: &str,
    ) -> ServiceResult<Option<VisibleArtifact>> {
        if !access.visibility.artifact_visible(name) {
            return Ok(None);
        }
        let Some((artifact, tags)) = self.store.artifact_tags(access.org_id, name).await? else {
            return Ok(None);
        };
        Ok(Some(self.as_seen_by(access, artifact, tags).await?))
    }

    /// An artifact with only the tags `access` may pull, its tag count, last
    /// push and description from those.
    async fn as_seen_by(
        &self,
        access: &CustomerAccess,
        mut artifact: ArtifactSummary,
        mut tags: Vec<TagInfo>,
    ) -> ServiceResult<VisibleArtifact> {
        let grant = access.visibility.grant(&artifact.name);
        if grant.has_released() {
            // An expired keep-released grant: which tags still point where
            // they pointed before the expiry is in the repository's history.
            match self.store.repo(access.org_id, &artifact.name).await? {
                Some(repo) => {
                    let graph = self.store.repo_graph(repo.id).await?;
                    tags.retain(|t| graph.tag_allowed(grant, &t.tag));
                }
                None => tags.clear(),
            }
        } else {
            tags.retain(|t| grant.covers(&t.tag));
        }
        artifact.tag_count = tags.len() as i64;
        artifact.last_push = tags.first().map(|t| t.pushed_at);
        // Only from what this viewer may pull: a hidden tag's text stays hidden.
        artifact.description = tags.first().and_then(|t| t.description.clone());
        Ok((artifact, tags))
    }
}
