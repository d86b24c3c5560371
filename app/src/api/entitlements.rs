//! A customer's artifact entitlements, for the Licenses page.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, respond, Need};
use chrono::{DateTime, Utc};
use domain::entitlements::{EntitlementView, RowDraft};
use domain::{CustomerId, Plan};
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
    pub plan: Plan,
    pub trial_ends_at: Option<DateTime<Utc>>,
}

/// What the entitlement form needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitlementFormData {
    pub customer_id: CustomerId,
    pub customer_name: String,
    /// The entitlement being edited; `None` for a new one.
    pub entitlement: Option<EntitlementView>,
    /// Every artifact of the org with its tags, newest first.
    pub artifacts: Vec<(String, Vec<String>)>,
    pub can_write: bool,
    pub plan_active: bool,
}

#[cfg(feature = "ssr")]
async fn plan_active(
    store: &domain::store::DynStore,
    org_id: domain::OrgId,
) -> Result<(bool, domain::Org), AppError> {
    let org = store.org(org_id).await?;
    Ok((
        org.plan
            .includes_entitlements(org.trial_ends_at, Utc::now()),
        org,
    ))
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
            let (plan_active, org) = plan_active(&store, me.org_id).await?;
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
                plan_active,
                plan: org.plan,
                trial_ends_at: org.trial_ends_at,
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
            if !plan_active(&store, me.org_id).await?.0 {
                return Err(AppError::PlanRequired);
            }
            store.delete_entitlement(me.org_id, id, &me.actor()).await?;
            Ok(())
        }
        .await,
    )
}

/// The entitlement form's data: the customer, the entitlement when editing,
/// and the org's artifacts with their tags. Any vendor user (read_only users
/// see the form without a Save).
#[server(endpoint = "entitlement_form")]
pub async fn entitlement_form(
    customer_id: CustomerId,
    id: Option<i64>,
) -> Result<EntitlementFormData, AppError> {
    respond(
        async move {
            let me = ssr::require_vendor(Need::Read).await?;
            let store = ssr::ctx()?.store;
            let customer = store.customer(me.org_id, customer_id).await?;
            let entitlement = match id {
                Some(id) => {
                    let e = store.entitlement(me.org_id, id).await?;
                    if e.customer_id != customer_id {
                        return Err(AppError::NotFound);
                    }
                    Some(e)
                }
                None => None,
            };
            Ok(EntitlementFormData {
                customer_id,
                customer_name: customer.name,
                entitlement,
                artifacts: store.artifact_tag_names(me.org_id).await?,
                can_write: me.role.can_write(),
                plan_active: plan_active(&store, me.org_id).await?.0,
            })
        }
        .await,
    )
}

/// Creates (`id` absent) or replaces an entitlement from the form. Vendor
/// admins and read_write users, on a plan that includes entitlements. A
/// plain form post is sent to the tab on success, and back to the form with
/// what was typed and the messages otherwise.
#[server(endpoint = "save_entitlement")]
pub async fn save_entitlement(
    customer_id: CustomerId,
    id: Option<i64>,
    name: String,
    expires: Option<String>,
    rows: Option<Vec<RowDraft>>,
) -> Result<i64, AppError> {
    let draft = domain::entitlements::EntitlementDraft {
        name,
        expires: expires.unwrap_or_default(),
        rows: rows.unwrap_or_default(),
    };
    let result = async {
        let me = ssr::require_vendor(Need::Write).await?;
        let store = ssr::ctx()?.store;
        store.customer(me.org_id, customer_id).await?;
        let current = match id {
            Some(id) => {
                let e = store.entitlement(me.org_id, id).await?;
                if e.customer_id != customer_id {
                    return Err(AppError::NotFound);
                }
                e.expires_at
            }
            None => None,
        };
        if !plan_active(&store, me.org_id).await?.0 {
            return Err(AppError::PlanRequired);
        }
        let valid = draft.validate(current).map_err(AppError::fields)?;
        Ok(store
            .save_entitlement(me.org_id, customer_id, id, valid, &me.actor())
            .await?
            .id)
    }
    .await;
    if ssr::is_plain_form_post() {
        let form = match id {
            Some(id) => format!("/licenses/{customer_id}/entitlements/{id}"),
            None => format!("/licenses/{customer_id}/entitlements/new"),
        };
        match &result {
            Ok(_) => leptos_axum::redirect(&format!("/licenses/{customer_id}/entitlements")),
            Err(e) => leptos_axum::redirect(&ssr::form_error_url(
                &form,
                &draft,
                <SaveEntitlement as leptos::server_fn::ServerFn>::PATH,
                e.clone(),
            )),
        }
    }
    respond(result)
}
