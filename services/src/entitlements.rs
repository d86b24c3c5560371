//! A customer's artifact entitlements (SPEC §4): changes need a plan that
//! includes them (the plan gate, here once for the form and the API).

use crate::authz::{self, Need};
use crate::error::{ServiceError, ServiceResult};
use crate::Services;
use chrono::{DateTime, Utc};
use domain::entitlements::{EntitlementView, ExpiryNotice, FieldErrors, ValidEntitlement};
use domain::policy::Visibility;
use domain::{CustomerId, EntitlementId, Org, OrgId, Principal};

/// Which entitlement a save writes.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A new one for this customer.
    New { customer: CustomerId },
    /// Replaces entitlement `id`; with `customer`, only if it is that
    /// customer's (the form's URL names both).
    Existing {
        id: EntitlementId,
        customer: Option<CustomerId>,
    },
}

impl Services {
    /// The organization, and whether its plan includes entitlements now.
    pub async fn plan_active(&self, org: OrgId) -> ServiceResult<(bool, Org)> {
        let org = self.store.org(org).await?;
        let active = org
            .plan
            .includes_entitlements(org.trial_ends_at, self.clock.now());
        Ok((active, org))
    }

    /// The plan gate: entitlement changes are refused on community or after
    /// a trial ended (existing entitlements are kept).
    async fn require_entitlements_plan(&self, org: OrgId) -> ServiceResult<()> {
        if self.plan_active(org).await?.0 {
            Ok(())
        } else {
            Err(ServiceError::PlanRequired)
        }
    }

    /// A customer's entitlements whose name or artifacts contain `q`. Any
    /// vendor user.
    pub async fn entitlements(
        &self,
        p: &Principal,
        customer: CustomerId,
        q: &str,
    ) -> ServiceResult<Vec<EntitlementView>> {
        let me = authz::vendor(p, Need::Read)?;
        let mut list = self.store.entitlements(me.org_id, customer).await?;
        list.retain(|e| e.matches(q));
        Ok(list)
    }

    /// The caller's entitlements that end within the portal's warning
    /// window. Customer users, for themselves; none while the org's plan
    /// shows everything to everyone (rule 1).
    pub async fn expiry_notices(&self, p: &Principal) -> ServiceResult<Vec<ExpiryNotice>> {
        let me = authz::customer(p)?;
        if matches!(self.visibility(p).await?.visibility, Visibility::Everything) {
            return Ok(vec![]);
        }
        let list = self.store.entitlements(me.org_id, me.customer_id).await?;
        Ok(ExpiryNotice::soon(
            &list,
            self.clock.now(),
            ExpiryNotice::PORTAL_DAYS,
        ))
    }

    /// One entitlement of the caller's org; with `customer`, only if it is
    /// that customer's. Any vendor user.
    pub async fn entitlement(
        &self,
        p: &Principal,
        id: EntitlementId,
        customer: Option<CustomerId>,
    ) -> ServiceResult<EntitlementView> {
        let me = authz::vendor(p, Need::Read)?;
        let e = self.store.entitlement(me.org_id, id).await?;
        if customer.is_some_and(|c| c != e.customer_id) {
            return Err(ServiceError::NotFound);
        }
        Ok(e)
    }

    /// Creates or replaces an entitlement. `validate` turns the body into a
    /// valid entitlement, given the stored expiry when replacing. Vendor
    /// admins and read_write users, on a plan that includes entitlements;
    /// what does not exist is not found before the plan is looked at.
    pub async fn save_entitlement(
        &self,
        p: &Principal,
        target: Target,
        validate: impl FnOnce(Option<DateTime<Utc>>) -> Result<ValidEntitlement, FieldErrors>,
    ) -> ServiceResult<EntitlementView> {
        let me = authz::vendor(p, Need::Write)?;
        let (customer, id, current) = match target {
            Target::New { customer } => {
                self.store.customer(me.org_id, customer).await?;
                (customer, None, None)
            }
            Target::Existing { id, customer } => {
                let e = self.entitlement(p, id, customer).await?;
                (e.customer_id, Some(id), e.expires_at)
            }
        };
        self.require_entitlements_plan(me.org_id).await?;
        let valid = validate(current).map_err(ServiceError::Invalid)?;
        Ok(self
            .store
            .save_entitlement(me.org_id, customer, id, valid, &me.actor())
            .await?)
    }

    /// Deletes an entitlement. Vendor admins and read_write users, on a plan
    /// that includes entitlements.
    pub async fn delete_entitlement(
        &self,
        p: &Principal,
        id: EntitlementId,
    ) -> ServiceResult<CustomerId> {
        let me = authz::vendor(p, Need::Write)?;
        self.store.entitlement(me.org_id, id).await?;
        self.require_entitlements_plan(me.org_id).await?;
        Ok(self
            .store
            .delete_entitlement(me.org_id, id, &me.actor())
            .await?)
    }
}
