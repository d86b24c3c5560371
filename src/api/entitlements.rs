//! `/api/v1/customers/{id}/entitlements` and `/api/v1/entitlements/{id}`:
//! which artifacts and tags each customer may pull.

use super::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiError, ApiJson, ApiPath, ErrorCode};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use domain::entitlements::{EntitlementInput, EntitlementView};
use domain::{CustomerId, OrgId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Entitlement changes need a plan that includes them (SPEC §4): refused with
/// a clear error on community or an ended trial.
async fn require_entitlements_plan(s: &AppState, org: OrgId) -> Result<(), ApiError> {
    let org = s.ctx.store.org(org).await?;
    if org
        .plan
        .includes_entitlements(org.trial_ends_at, Utc::now())
    {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Plan,
            "Artifact Entitlements are a Pro feature. Upgrade to Pro (or start a trial) to create or change entitlements; existing ones are kept but not enforced meanwhile.",
        ))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EntitlementQuery {
    /// Search text: part of the entitlement's name or of one of its artifacts.
    #[serde(default)]
    q: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct EntitlementList {
    entitlements: Vec<EntitlementView>,
}

/// `GET /api/v1/customers/{id}/entitlements?q=` — any vendor user; filters by
/// entitlement or artifact name.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/entitlements",
    tag = "entitlements",
    params(("id" = i64, Path, description = "Customer id"), EntitlementQuery),
    responses(
        (status = 200, description = "The customer's entitlements", body = EntitlementList),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn list_entitlements(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(customer): ApiPath<CustomerId>,
    axum::extract::Query(query): axum::extract::Query<EntitlementQuery>,
) -> Result<Json<EntitlementList>, ApiError> {
    let org = caller.vendor()?;
    let entitlements = s
        .ctx
        .store
        .entitlements(org, customer)
        .await?
        .into_iter()
        .filter(|e| e.matches(&query.q))
        .collect();
    Ok(Json(EntitlementList { entitlements }))
}

fn validate_entitlement(
    body: &EntitlementInput,
) -> Result<domain::entitlements::ValidEntitlement, ApiError> {
    body.validate().map_err(ApiError::invalid)
}

/// `POST /api/v1/customers/{id}/entitlements` — vendor admins and read_write users, Pro plans.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/entitlements",
    tag = "entitlements",
    params(("id" = i64, Path, description = "Customer id")),
    request_body = EntitlementInput,
    responses(
        (status = 201, description = "Created", body = EntitlementView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub(super) async fn create_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(customer): ApiPath<CustomerId>,
    ApiJson(body): ApiJson<EntitlementInput>,
) -> Result<(StatusCode, Json<EntitlementView>), ApiError> {
    let org = caller.vendor_writer()?;
    require_entitlements_plan(&s, org).await?;
    let valid = validate_entitlement(&body)?;
    let saved = s
        .ctx
        .store
        .save_entitlement(org, customer, None, valid, &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `GET /api/v1/entitlements/{id}` — any vendor user.
#[utoipa::path(
    get,
    path = "/api/v1/entitlements/{id}",
    tag = "entitlements",
    params(("id" = i64, Path, description = "Entitlement id")),
    responses(
        (status = 200, description = "The entitlement", body = EntitlementView),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn get_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EntitlementView>, ApiError> {
    let org = caller.vendor()?;
    Ok(Json(s.ctx.store.entitlement(org, id).await?))
}

/// `PUT /api/v1/entitlements/{id}` — replaces it; vendor admins and read_write users, Pro plans.
#[utoipa::path(
    put,
    path = "/api/v1/entitlements/{id}",
    tag = "entitlements",
    params(("id" = i64, Path, description = "Entitlement id")),
    request_body = EntitlementInput,
    responses(
        (status = 200, description = "Replaced", body = EntitlementView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub(super) async fn update_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EntitlementInput>,
) -> Result<Json<EntitlementView>, ApiError> {
    let org = caller.vendor_writer()?;
    let current = s.ctx.store.entitlement(org, id).await?;
    require_entitlements_plan(&s, org).await?;
    let valid = validate_entitlement(&body)?;
    Ok(Json(
        s.ctx
            .store
            .save_entitlement(org, current.customer_id, Some(id), valid, &caller.actor())
            .await?,
    ))
}

/// `DELETE /api/v1/entitlements/{id}` — vendor admins and read_write users, Pro plans.
#[utoipa::path(
    delete,
    path = "/api/v1/entitlements/{id}",
    tag = "entitlements",
    params(("id" = i64, Path, description = "Entitlement id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn delete_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let org = caller.vendor_writer()?;
    s.ctx.store.entitlement(org, id).await?;
    require_entitlements_plan(&s, org).await?;
    s.ctx
        .store
        .delete_entitlement(org, id, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
