//! `GET /api/v1/me`: who is calling.

use super::ApiCaller;
use axum::Json;
use domain::{CustomerId, CustomerRole, Principal, UserId, VendorRole};
use serde::Serialize;
use utoipa::ToSchema;

/// The caller, as `GET /api/v1/me` shows it.
#[derive(Serialize, ToSchema)]
pub(super) struct Me {
    #[schema(value_type = i64)]
    id: UserId,
    email: String,
    kind: CallerKind,
    role: CallerRole,
    org: CallerOrg,
    /// Customer users only (absent for vendor users).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    customer: Option<CallerCustomer>,
}

/// A vendor user (of the organization) or a customer user (of one of its customers).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum CallerKind {
    Vendor,
    Customer,
}

/// A vendor role for vendor users, a customer role for customer users.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum CallerRole {
    Vendor(VendorRole),
    Customer(CustomerRole),
}

/// The vendor organization.
#[derive(Serialize, ToSchema)]
struct CallerOrg {
    slug: String,
    name: String,
}

/// The customer a customer user belongs to.
#[derive(Serialize, ToSchema)]
struct CallerCustomer {
    #[schema(value_type = i64)]
    id: CustomerId,
    name: String,
}

endpoint! {
    /// `GET /api/v1/me` — anyone signed in.
    get("/api/v1/me", tag = "account", responses((status = 200, description = "The caller", body = Me)))
    fn me(_, ApiCaller(p): ApiCaller) -> Json<Me> {
        Ok(Json(Me::from(p)))
    }
}

impl From<Principal> for Me {
    fn from(p: Principal) -> Self {
        match p {
            Principal::Vendor {
                user_id,
                email,
                role,
                org_slug,
                org_name,
                ..
            } => Me {
                id: user_id,
                email,
                kind: CallerKind::Vendor,
                role: CallerRole::Vendor(role),
                org: CallerOrg {
                    slug: org_slug,
                    name: org_name,
                },
                customer: None,
            },
            Principal::Customer {
                user_id,
                email,
                role,
                org_slug,
                org_name,
                customer_id,
                customer_name,
                ..
            } => Me {
                id: user_id,
                email,
                kind: CallerKind::Customer,
                role: CallerRole::Customer(role),
                org: CallerOrg {
                    slug: org_slug,
                    name: org_name,
                },
                customer: Some(CallerCustomer {
                    id: customer_id,
                    name: customer_name,
                }),
            },
        }
    }
}
