//! `/api/v1/customers`: the vendor's customers and their audit trail.

use super::endpoint::{created, next_link, no_content, page, Created};
use super::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiJson, ApiPath, ApiQuery};
use axum::http::StatusCode;
use axum::Json;
use domain::audit::AuditEvent;
use domain::paging::{CustomerQuery, DEFAULT_LIMIT};
use domain::{Customer, CustomerId, CustomerSummary, CustomerUser};
use serde::{Deserialize, Serialize};
use services::Need;
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

endpoint! {
    /// `GET /api/v1/customers?q=&limit=&after=` — any vendor user: by name
    /// (case-insensitive), a page at a time.
    get("/api/v1/customers", tag = "customers", params(ListQuery),
        responses((status = 200, description = "A page of the organization's customers by name and the link to the next page", body = CustomerList), BadRequest, Forbidden, Invalid))
    fn list_customers(s, caller: ApiCaller, ApiQuery(q): ApiQuery<ListQuery>) -> Json<CustomerList> {
        // Who may comes first: a customer user learns nothing about the paging.
        caller.vendor(Need::Read)?;
        let (limit, after) = page(q.limit, q.after, DEFAULT_LIMIT)?;
        let query = CustomerQuery {
            search: q.q,
            after,
            limit,
            ..CustomerQuery::default()
        };
        let found = s.ctx.customers(&caller.0, &query).await?;
        let filters = [("q", query.search.as_str())];
        let next = next_link("/api/v1/customers", &filters, q.limit, found.next);
        Ok(Json(CustomerList { customers: found.items, next }))
    }
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CustomerBody {
    /// 1–100 characters, unique in the organization.
    name: String,
}

endpoint! {
    /// `POST /api/v1/customers` — vendor admins and read_write users.
    post("/api/v1/customers", tag = "customers", request_body = CustomerBody,
        responses((status = 201, description = "Created", body = Customer), BadRequest, Forbidden, Conflict, Invalid))
    fn create_customer(s, caller: ApiCaller, ApiJson(body): ApiJson<CustomerBody>) -> Created<Customer> {
        created(s.ctx.create_customer(&caller.0, &body.name).await?)
    }
}

/// A customer's audit trail.
#[derive(Serialize, ToSchema)]
pub(super) struct AuditTrail {
    events: Vec<AuditEvent>,
}

endpoint! {
    /// `GET /api/v1/customers/{id}/audit` — any vendor user: who changed the
    /// customer, its users and its entitlements, when, with the state before
    /// and after; newest first, the last 200.
    get("/api/v1/customers/{id}/audit", tag = "customers", params(("id" = i64, Path, description = "Customer id")),
        responses((status = 200, description = "The customer's audit trail, newest first", body = AuditTrail), Forbidden, NotFound))
    fn customer_audit(s, caller: ApiCaller, ApiPath(id): ApiPath<CustomerId>) -> Json<AuditTrail> {
        let events = s.ctx.customer_audit(&caller.0, id, 200).await?;
        Ok(Json(AuditTrail { events }))
    }
}

/// A customer with its users.
#[derive(Serialize, ToSchema)]
pub(super) struct CustomerDetail {
    #[serde(flatten)]
    customer: Customer,
    users: Vec<CustomerUser>,
}

endpoint! {
    /// `GET /api/v1/customers/{id}` — any vendor user; with its users.
    get("/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path, description = "Customer id")),
        responses((status = 200, description = "The customer with its users", body = CustomerDetail), Forbidden, NotFound))
    fn get_customer(s, caller: ApiCaller, ApiPath(id): ApiPath<CustomerId>) -> Json<CustomerDetail> {
        let (customer, users) = s.ctx.customer_with_users(&caller.0, id).await?;
        Ok(Json(CustomerDetail { customer, users }))
    }
}

endpoint! {
    /// `PATCH /api/v1/customers/{id}` — rename; vendor admins and read_write users.
    patch("/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path, description = "Customer id")),
        request_body = CustomerBody,
        responses((status = 200, description = "Renamed", body = Customer), BadRequest, Forbidden, NotFound, Conflict, Invalid))
    fn update_customer(s, caller: ApiCaller, ApiPath(id): ApiPath<CustomerId>, ApiJson(body): ApiJson<CustomerBody>) -> Json<Customer> {
        Ok(Json(s.ctx.rename_customer(&caller.0, id, &body.name).await?))
    }
}

endpoint! {
    /// `DELETE /api/v1/customers/{id}` — with its users and their tokens.
    delete("/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path, description = "Customer id")),
        responses((status = 204, description = "Deleted with its users, their tokens and its entitlements"), Forbidden, NotFound))
    fn delete_customer(s, caller: ApiCaller, ApiPath(id): ApiPath<CustomerId>) -> StatusCode {
        no_content(s.ctx.delete_customer(&caller.0, id).await)
    }
}
