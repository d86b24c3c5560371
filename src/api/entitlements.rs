//! `/api/v1/customers/{id}/entitlements` and `/api/v1/entitlements/{id}`:
//! which artifacts and tags each customer may pull.

use super::endpoint::{created, no_content, Created};
use super::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiJson, ApiPath};
use axum::extract::Query;
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

endpoint! {
    /// `GET /api/v1/customers/{id}/entitlements?q=` — any vendor user; filters by
    /// entitlement or artifact name.
    get("/api/v1/customers/{id}/entitlements", tag = "entitlements",
        params(("id" = i64, Path, description = "Customer id"), EntitlementQuery),
        responses((status = 200, description = "The customer's entitlements", body = EntitlementList), Forbidden, NotFound))
    fn list_entitlements(s, caller: ApiCaller, ApiPath(customer): ApiPath<CustomerId>, Query(query): Query<EntitlementQuery>) -> Json<EntitlementList> {
        let entitlements = s.ctx.entitlements(&caller.0, customer, &query.q).await?;
        Ok(Json(EntitlementList { entitlements }))
    }
}

endpoint! {
    /// `POST /api/v1/customers/{id}/entitlements` — vendor admins and read_write users, Pro plans.
    post("/api/v1/customers/{id}/entitlements", tag = "entitlements", params(("id" = i64, Path, description = "Customer id")),
        request_body = EntitlementInput,
        responses((status = 201, description = "Created", body = EntitlementView), BadRequest, Forbidden, NotFound, Conflict, Invalid))
    fn create_entitlement(s, caller: ApiCaller, ApiPath(customer): ApiPath<CustomerId>, ApiJson(body): ApiJson<EntitlementInput>) -> Created<EntitlementView> {
        let target = Target::New { customer };
        created(s.ctx.save_entitlement(&caller.0, target, |_| body.validate()).await?)
    }
}

endpoint! {
    /// `GET /api/v1/entitlements/{id}` — any vendor user.
    get("/api/v1/entitlements/{id}", tag = "entitlements", params(("id" = i64, Path, description = "Entitlement id")),
        responses((status = 200, description = "The entitlement", body = EntitlementView), Forbidden, NotFound))
    fn get_entitlement(s, caller: ApiCaller, ApiPath(id): ApiPath<EntitlementId>) -> Json<EntitlementView> {
        Ok(Json(s.ctx.entitlement(&caller.0, id, None).await?))
    }
}

endpoint! {
    /// `PUT /api/v1/entitlements/{id}` — replaces it; vendor admins and read_write users, Pro plans.
    put("/api/v1/entitlements/{id}", tag = "entitlements", params(("id" = i64, Path, description = "Entitlement id")),
        request_body = EntitlementInput,
        responses((status = 200, description = "Replaced", body = EntitlementView), BadRequest, Forbidden, NotFound, Conflict, Invalid))
    fn update_entitlement(s, caller: ApiCaller, ApiPath(id): ApiPath<EntitlementId>, ApiJson(body): ApiJson<EntitlementInput>) -> Json<EntitlementView> {
        let target = Target::Existing { id, customer: None };
        Ok(Json(s.ctx.save_entitlement(&caller.0, target, |_| body.validate()).await?))
    }
}

endpoint! {
    /// `DELETE /api/v1/entitlements/{id}` — vendor admins and read_write users, Pro plans.
    delete("/api/v1/entitlements/{id}", tag = "entitlements", params(("id" = i64, Path, description = "Entitlement id")),
        responses((status = 204, description = "Deleted"), Forbidden, NotFound))
    fn delete_entitlement(s, caller: ApiCaller, ApiPath(id): ApiPath<EntitlementId>) -> StatusCode {
        no_content(s.ctx.delete_entitlement(&caller.0, id).await)
    }
}
