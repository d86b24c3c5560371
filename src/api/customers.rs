//! `/api/v1/customers`: the vendor's customers and their audit trail.

use super::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiError, ApiJson, ApiPath, ApiQuery};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::audit::AuditEvent;
use domain::paging::{self, CustomerQuery, DEFAULT_LIMIT};
use domain::{Customer, CustomerId, CustomerSummary, CustomerUser};
use serde::{Deserialize, Serialize};
use services::{Need, ServiceError};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Search text: part of the customer's name.
    #[serde(default)]
    q: String,
    /// At most this many customers, 1–1000 (default 100).
    limit: Option<i64>,
    /// Only customers after this name (the cursor): send the previous
    /// page's `next` link rather than building it.
    after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct CustomerList {
    customers: Vec<CustomerSummary>,
    /// The next page (a path with its query, on this server), or `null` on
    /// the last page.
    #[schema(required = true)]
    next: Option<String>,
}

/// `GET /api/v1/customers?q=&limit=&after=` — any vendor user: by name
/// (case-insensitive), a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "customers",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of the organization's customers by name and the link to the next page", body = CustomerList),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub(super) async fn list_customers(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<CustomerList>, ApiError> {
    // Who may comes first: a customer user learns nothing about the paging.
    caller.vendor(Need::Read)?;
    let (limit, after) =
        paging::check(q.limit, q.after, DEFAULT_LIMIT).map_err(ServiceError::from)?;
    let query = CustomerQuery {
        search: q.q,
        after,
        limit,
        ..CustomerQuery::default()
    };
    let page = s.ctx.customers(&caller.0, &query).await?;
    let limit = q.limit.map(|n| n.to_string()).unwrap_or_default();
    let next = page.next.map(|after| {
        paging::link(
            "/api/v1/customers",
            &[
                ("q", query.search.as_str()),
                ("limit", limit.as_str()),
                ("after", after.as_str()),
            ],
        )
    });
    Ok(Json(CustomerList {
        customers: page.items,
        next,
    }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CustomerBody {
    /// 1–100 characters, unique in the organization.
    name: String,
}

/// `POST /api/v1/customers` — vendor admins and read_write users.
#[utoipa::path(
    post,
    path = "/api/v1/customers",
    tag = "customers",
    request_body = CustomerBody,
    responses(
        (status = 201, description = "Created", body = Customer),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub(super) async fn create_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<CustomerBody>,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    let customer = s.ctx.create_customer(&caller.0, &body.name).await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

/// A customer's audit trail.
#[derive(Serialize, ToSchema)]
pub(super) struct AuditTrail {
    events: Vec<AuditEvent>,
}

/// `GET /api/v1/customers/{id}/audit` — any vendor user: who changed the
/// customer, its users and its entitlements, when, with the state before
/// and after; newest first, the last 200.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/audit",
    tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer's audit trail, newest first", body = AuditTrail),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn customer_audit(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<AuditTrail>, ApiError> {
    Ok(Json(AuditTrail {
        events: s.ctx.customer_audit(&caller.0, id, 200).await?,
    }))
}

/// A customer with its users.
#[derive(Serialize, ToSchema)]
pub(super) struct CustomerDetail {
    #[serde(flatten)]
    customer: Customer,
    users: Vec<CustomerUser>,
}

/// `GET /api/v1/customers/{id}` — any vendor user; with its users.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer with its users", body = CustomerDetail),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn get_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<CustomerDetail>, ApiError> {
    let (customer, users) = s.ctx.customer_with_users(&caller.0, id).await?;
    Ok(Json(CustomerDetail { customer, users }))
}

/// `PATCH /api/v1/customers/{id}` — rename; vendor admins and read_write users.
#[utoipa::path(
    patch,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    request_body = CustomerBody,
    responses(
        (status = 200, description = "Renamed", body = Customer),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub(super) async fn update_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(body): ApiJson<CustomerBody>,
) -> Result<Json<Customer>, ApiError> {
    Ok(Json(
        s.ctx.rename_customer(&caller.0, id, &body.name).await?,
    ))
}

/// `DELETE /api/v1/customers/{id}` — with its users and their tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 204, description = "Deleted with its users, their tokens and its entitlements"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn delete_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<StatusCode, ApiError> {
    s.ctx.delete_customer(&caller.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
