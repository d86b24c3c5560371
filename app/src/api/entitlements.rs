//! A customer's artifact entitlements, for the Licenses page.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, respond, Need};
use domain::entitlements::EntitlementView;
use domain::CustomerId;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The Artifact Entitlements tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitlementsView {
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub entitlements: Vec<EntitlementView>,
    pub can_write: bool,
    /// Whether the org's plan includes entitlements now (SPEC §4 plan gating).
    pub plan_active: bool,
}

/// A customer's entitlements, filtered by entitlement or artifact name. Any vendor user.
#[server(endpoint = "list_entitlements")]
pub async fn list_entitlements(
    customer_id: CustomerId,
    q: Option<String>,
) -> Result<EntitlementsView, AppError> {
    respond(
        async move {
            let me = ssr::require_vendor(Need::Read).await?;
            let store = ssr::ctx()?.store;
            let customer = store.customer(me.org_id, customer_id).await?;
            let org = store.org(me.org_id).await?;
            let q = q.unwrap_or_default();
            Ok(EntitlementsView {
                customer_id,
                customer_name: customer.name,
                entitlements: store
                    .entitlements(me.org_id, customer_id)
                    .await?
                    .into_iter()
                    .filter(|e| e.matches(&q))
                    .collect(),
                can_write: me.role.can_write(),
                plan_active: org
                    .plan
                    .includes_entitlements(org.trial_ends_at, chrono::Utc::now()),
            })
        }
        .await,
    )
}

/// Deletes an entitlement. Vendor admins and read_write users, on a plan
/// that includes entitlements.
#[server(endpoint = "delete_entitlement")]
pub async fn delete_entitlement(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let me = ssr::require_vendor(Need::Write).await?;
            let store = ssr::ctx()?.store;
            let org = store.org(me.org_id).await?;
            if !org
                .plan
                .includes_entitlements(org.trial_ends_at, chrono::Utc::now())
            {
                return Err(AppError::Forbidden);
            }
            store.delete_entitlement(me.org_id, id).await?;
            Ok(())
        }
        .await,
    )
}
