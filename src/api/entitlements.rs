//! `/api/v1/customers/{id}/entitlements` and `/api/v1/entitlements/{id}`:
//! which artifacts and tags each customer may pull.

use super::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiError, ApiJson, ApiPath};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::entitlements::{EntitlementInput, EntitlementView};
use domain::{CustomerId, EntitlementId};
use serde::{Deserialize, Serialize};
use services::entitlements::Target;
use utoipa::{IntoParams, ToSchema};

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
    let entitlements = s.ctx.entitlements(&caller.0, customer, &query.q).await?;
    Ok(Json(EntitlementList { entitlements }))
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
    let target = Target::New { customer };
    let saved = s
        .ctx
        .save_entitlement(&caller.0, target, |_| body.validate())
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
    ApiPath(id): ApiPath<EntitlementId>,
) -> Result<Json<EntitlementView>, ApiError> {
    Ok(Json(s.ctx.entitlement(&caller.0, id, None).await?))
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
    ApiPath(id): ApiPath<EntitlementId>,
    ApiJson(body): ApiJson<EntitlementInput>,
) -> Result<Json<EntitlementView>, ApiError> {
    let target = Target::Existing { id, customer: None };
    Ok(Json(
        s.ctx
            .save_entitlement(&caller.0, target, |_| body.validate())
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
    ApiPath(id): ApiPath<EntitlementId>,
) -> Result<StatusCode, ApiError> {
    s.ctx.delete_entitlement(&caller.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
