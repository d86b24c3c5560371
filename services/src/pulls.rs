//! The pull log (SPEC §6): who pulled what, for the vendor.

use crate::authz::{self, Need};
use crate::error::{ServiceError, ServiceResult};
use crate::Services;
use domain::pulls::{Pull, PullQuery};
use domain::Principal;

impl Services {
    /// The organization's pulls matching `query`, newest first. A customer
    /// or artifact of another org is not found, like a missing one. Any
    /// vendor user.
    pub async fn pulls(&self, p: &Principal, query: &PullQuery) -> ServiceResult<Vec<Pull>> {
        let me = authz::vendor(p, Need::Read)?;
        if let Some(id) = query.customer {
            self.store.customer(me.org_id, id).await?;
        }
        if let Some(name) = &query.artifact {
            self.store
                .repo(me.org_id, name)
                .await?
                .ok_or(ServiceError::NotFound)?;
        }
        Ok(self.store.pulls(me.org_id, query).await?)
    }
}
