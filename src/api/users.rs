//! `POST /api/v1/customers/{id}/users`: a customer's users.

use super::endpoint::{created, Created};
use super::openapi::{BadRequest, Busy, Conflict, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiJson, ApiPath};
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

endpoint! {
    /// `POST /api/v1/customers/{id}/users` — `{"email", "password", "role"}`,
    /// or `{"email", "role", "invite": true}` for a one-time set-password link
    /// (answered once, as `set_password_url`). Vendor admins and read_write users.
    post("/api/v1/customers/{id}/users", tag = "customers", params(("id" = i64, Path, description = "Customer id")),
        request_body = NewCustomerUser,
        responses((status = 201, description = "Added", body = AddedCustomerUser), BadRequest, Forbidden, NotFound, Conflict, Invalid, Busy))
    fn add_customer_user(s, caller: ApiCaller, ApiPath(id): ApiPath<CustomerId>, ApiJson(body): ApiJson<NewCustomerUser>) -> Created<AddedCustomerUser> {
        let user = services::customers::NewCustomerUser {
            email: &body.email,
            password: body.password.as_deref(),
            invite: body.invite,
            role: &body.role,
        };
        let added = s.ctx.add_customer_user(&caller.0, id, user).await?;
        created(AddedCustomerUser {
            id: added.id,
            email: added.email,
            role: added.role,
            set_password_url: added.set_password_url,
            set_password_expires_at: added.set_password_expires_at,
        })
    }
}
