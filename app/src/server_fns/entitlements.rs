//! A customer's artifact entitlements, for the Licenses page.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, respond, Need};
use chrono::{DateTime, Utc};
use domain::entitlements::{EntitlementView, RowDraft};
use domain::{CustomerId, EntitlementId, Plan};
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
    /// The names of the org's artifacts.
    pub artifacts: Vec<String>,
    /// The tags, newest first, of the artifacts the form starts with (the
    /// entitlement's and those asked for); a row loads the others' when
    /// it needs them ([`entitlement_tags`]).
    pub tags: Vec<(String, Vec<String>)>,
    pub can_write: bool,
    pub plan_active: bool,
}

/// A customer's entitlements, filtered by entitlement or artifact name. Any vendor user.
#[server(endpoint = "list_entitlements")]
pub async fn list_entitlements(
    customer_id: CustomerId,
    q: Option<String>,
) -> Result<EntitlementsView, AppError> {
    ssr::with_caller(async |services, p| {
        let me = services::authz::vendor(p, Need::Read)?;
        let customer = services.customer(p, customer_id).await?;
        let (plan_active, org) = services.plan_active(me.org_id).await?;
        Ok(EntitlementsView {
            customer_id,
            customer_name: customer.name,
            entitlements: services
                .entitlements(p, customer_id, q.as_deref().unwrap_or_default())
                .await?,
            can_write: me.role.can_write(),
            plan_active,
            plan: org.plan,
            trial_ends_at: org.trial_ends_at,
        })
    })
    .await
}

/// Deletes an entitlement. Vendor admins and read_write users, on a plan
/// that includes entitlements.
#[server(endpoint = "delete_entitlement")]
pub async fn delete_entitlement(id: EntitlementId) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        services.delete_entitlement(me, id).await?;
        Ok(())
    })
    .await
}

/// The entitlement form's data: the customer, the entitlement when editing,
/// the org's artifact names, and the tags of the artifacts the form starts
/// with: the entitlement's and `chosen` (a draft's rows). Any vendor user
/// (read_only users see the form without a Save).
#[server(endpoint = "entitlement_form")]
pub async fn entitlement_form(
    customer_id: CustomerId,
    id: Option<EntitlementId>,
    chosen: Option<Vec<String>>,
) -> Result<EntitlementFormData, AppError> {
    ssr::with_caller(async |services, p| {
        let me = services::authz::vendor(p, Need::Read)?;
        let customer = services.customer(p, customer_id).await?;
        let entitlement = match id {
            Some(id) => Some(services.entitlement(p, id, Some(customer_id)).await?),
            None => None,
        };
        let mut wanted = chosen.unwrap_or_default();
        if let Some(e) = &entitlement {
            wanted.extend(e.artifacts.iter().map(|g| g.artifact.clone()));
        }
        wanted.retain(|a| !a.is_empty());
        wanted.sort();
        wanted.dedup();
        // A name that is not (or no longer) an artifact of the org gets
        // an empty list, as `entitlement_tags` answers.
        let mut tags = services.tag_names(p, &wanted).await?;
        wanted.retain(|a| !tags.iter().any(|(name, _)| name == a));
        tags.extend(wanted.into_iter().map(|a| (a, Vec::new())));
        Ok(EntitlementFormData {
            customer_id,
            customer_name: customer.name,
            entitlement,
            artifacts: services.artifact_names(p).await?,
            tags,
            can_write: me.role.can_write(),
            plan_active: services.plan_active(me.org_id).await?.0,
        })
    })
    .await
}

/// The tags of one of the org's artifacts, newest first (empty when it has
/// none or is not the org's): what an entitlement form's row loads when its
/// artifact is chosen. Any vendor user.
#[server(endpoint = "entitlement_tags")]
pub async fn entitlement_tags(artifact: String) -> Result<Vec<String>, AppError> {
    ssr::with_caller(async |services, me| {
        let mut lists = services.tag_names(me, &[artifact]).await?;
        Ok(lists.pop().map(|(_, tags)| tags).unwrap_or_default())
    })
    .await
}

/// Creates (`id` absent) or replaces an entitlement from the form. Vendor
/// admins and read_write users, on a plan that includes entitlements. A
/// plain form post is sent to the tab on success, and back to the form with
/// what was typed and the messages otherwise.
#[server(endpoint = "save_entitlement")]
pub async fn save_entitlement(
    customer_id: CustomerId,
    id: Option<EntitlementId>,
    name: String,
    expires: Option<String>,
    after_expiry: Option<String>,
    rows: Option<Vec<RowDraft>>,
) -> Result<EntitlementId, AppError> {
    let draft = domain::entitlements::EntitlementDraft {
        name,
        expires: expires.unwrap_or_default(),
        after_expiry: after_expiry.unwrap_or_default(),
        rows: rows.unwrap_or_default(),
    };
    let result: Result<EntitlementId, AppError> = async {
        use services::entitlements::Target;
        let target = match id {
            Some(id) => Target::Existing {
                id,
                customer: Some(customer_id),
            },
            None => Target::New {
                customer: customer_id,
            },
        };
        let saved = ssr::services()?
            .save_entitlement(&ssr::signed_in().await?, target, |current| {
                draft.validate(current)
            })
            .await?;
        Ok(saved.id)
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
