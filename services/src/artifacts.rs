//! What a caller may see of the organization's artifacts (SPEC §3): the
//! portal's list, `GET /api/v1/artifacts`, the registry's pulls.

use crate::authz::{self, Need};
use crate::{ServiceError, ServiceResult, Services};
use domain::access::CustomerAccess;
use domain::policy::Visibility;
use domain::registry::{ArtifactSummary, TagInfo};
use domain::store::StoreError;
use domain::Principal;
use std::sync::Arc;

/// An artifact with the tags its viewer may pull, newest first.
pub type VisibleArtifact = (ArtifactSummary, Vec<TagInfo>);

impl Services {
    /// The organization's artifacts, newest push first. Any vendor user.
    pub async fn org_artifacts(&self, p: &Principal) -> ServiceResult<Vec<ArtifactSummary>> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self.store.artifacts(me.org_id).await?)
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

    /// Every artifact of the organization with its tag names (what the
    /// entitlement form offers). Any vendor user.
    pub async fn artifact_tag_names(
        &self,
        p: &Principal,
    ) -> ServiceResult<Vec<(String, Vec<String>)>> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self.store.artifact_tag_names(me.org_id).await?)
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

    /// The artifacts `principal` may see, each with only the tags it may
    /// pull, newest first.
    pub async fn visible_artifacts(
        &self,
        principal: &Principal,
    ) -> ServiceResult<Vec<VisibleArtifact>> {
        let access = self.visibility(principal).await?;
        let names: Vec<String> = match &access.visibility {
            Visibility::Everything => self
                .store
                .artifacts(principal.org_id())
                .await?
                .into_iter()
                .map(|a| a.name)
                .collect(),
            // Only the granted artifacts are read (a customer sees a few of
            // the org's many).
            Visibility::Granted(grants) => {
                let mut names: Vec<String> = grants.keys().cloned().collect();
                names.sort();
                names
            }
        };
        let mut out = Vec::new();
        for name in names {
            if let Some(v) = self.visible_artifact(&access, &name).await? {
                out.push(v);
            }
        }
        Ok(out)
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
        let Some((mut artifact, mut tags)) = self.store.artifact_tags(access.org_id, name).await?
        else {
            return Ok(None);
        };
        let grant = access.visibility.grant(name);
        if grant.has_released() {
            // An expired keep-released grant: which tags still point where
            // they pointed before the expiry is in the repository's history.
            let Some(repo) = self.store.repo(access.org_id, name).await? else {
                return Ok(None);
            };
            let graph = self.store.repo_graph(repo.id).await?;
            tags.retain(|t| graph.tag_allowed(grant, &t.tag));
        } else {
            tags.retain(|t| grant.covers(&t.tag));
        }
        artifact.tag_count = tags.len() as i64;
        artifact.last_push = tags.first().map(|t| t.pushed_at);
        // Only from what this viewer may pull: a hidden tag's text stays hidden.
        artifact.description = tags.first().and_then(|t| t.description.clone());
        Ok(Some((artifact, tags)))
    }
}
