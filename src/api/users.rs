//! `POST /api/v1/customers/{id}/users`: a customer's users.

use super::openapi::{BadRequest, Busy, Conflict, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiError, ApiJson, ApiPath};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::{CustomerId, CustomerRole, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub(super) struct NewCustomerUser {
    /// Unique across the installation (it is the registry user name).
    email: String,
    /// The initial password: 8–256 characters. Leave it out (or null) with
    /// `"invite": true` to get a one-time set-password link instead.
    #[serde(default)]
    password: Option<String>,
    #[schema(value_type = CustomerRole)]
    role: String,
    /// Without a password: `true` creates a one-time set-password link.
    #[serde(default)]
    invite: bool,
}

/// The customer user just added.
#[derive(Serialize, ToSchema)]
pub(super) struct AddedCustomerUser {
    #[schema(value_type = i64)]
    id: UserId,
    email: String,
    role: CustomerRole,
    /// With `"invite": true`: the one-time link to send to the user (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    set_password_url: Option<String>,
    /// When that link stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    set_password_expires_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/customers/{id}/users` — `{"email", "password", "role"}`,
/// or `{"email", "role", "invite": true}` for a one-time set-password link
/// (answered once, as `set_password_url`). Vendor admins and read_write users.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/users",
    tag = "customers",
    params(("id" = i64, Path, description = "Customer id")),
    request_body = NewCustomerUser,
    responses(
        (status = 201, description = "Added", body = AddedCustomerUser),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 503, response = Busy),
    )
)]
pub(super) async fn add_customer_user(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(body): ApiJson<NewCustomerUser>,
) -> Result<(StatusCode, Json<AddedCustomerUser>), ApiError> {
    let added = s
        .ctx
        .add_customer_user(
            &caller.0,
            id,
            services::customers::NewCustomerUser {
                email: &body.email,
                password: body.password.as_deref(),
                invite: body.invite,
                role: &body.role,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AddedCustomerUser {
            id: added.id,
            email: added.email,
            role: added.role,
            set_password_url: added.set_password_url,
            set_password_expires_at: added.set_password_expires_at,
        }),
    ))
}
