//! The JSON API under `/api/v1` (SPEC §8), authenticated by the session
//! cookie or `Authorization: Bearer <access token>`. Errors are
//! `{"error": {"code", "message", "fields"}}` with 400/401/403/404/409/422
//! (and 503 `busy` with `Retry-After` when password hashing is saturated).
//! Handlers state who may call them with the `ApiCaller` methods.
//!
//! One module per resource; this one only routes. Each handler carries a
//! `#[utoipa::path]` and its bodies are typed (`ToSchema`), so
//! `GET /api/v1/openapi.json` ([`openapi`]) is generated from this code: a new
//! route goes in `router()`, its `#[utoipa::path]` on the handler and its
//! name in `openapi::ApiDoc`.

mod artifacts;
mod customers;
mod entitlements;
mod error;
mod extract;
mod me;
pub mod openapi;
mod pulls;
mod tokens;
mod users;

pub use error::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
use extract::ApiQuery;
pub use extract::{ApiCaller, ApiJson, ApiPath, CallerWithToken};

use crate::server::AppState;
use axum::http::StatusCode;
use axum::routing::any;
use axum::routing::{delete, get};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/me", get(me::me))
        .route(
            "/api/v1/tokens",
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(tokens::revoke_token))
        .route(
            "/api/v1/customers",
            get(customers::list_customers).post(customers::create_customer),
        )
        .route(
            "/api/v1/customers/{id}",
            get(customers::get_customer)
                .patch(customers::update_customer)
                .delete(customers::delete_customer),
        )
        .route(
            "/api/v1/customers/{id}/users",
            axum::routing::post(users::add_customer_user),
        )
        .route(
            "/api/v1/customers/{id}/audit",
            get(customers::customer_audit),
        )
        .route("/api/v1/artifacts", get(artifacts::artifacts))
        .route("/api/v1/pulls", get(pulls::list_pulls))
        .route(
            "/api/v1/customers/{id}/entitlements",
            get(entitlements::list_entitlements).post(entitlements::create_entitlement),
        )
        .route(
            "/api/v1/entitlements/{id}",
            get(entitlements::get_entitlement)
                .put(entitlements::update_entitlement)
                .delete(entitlements::delete_entitlement),
        )
        // Anything else under the API is a JSON 404, not the HTML page.
        .route("/api/v1", any(unknown_path))
        .route("/api/v1/", any(unknown_path))
        .route("/api/v1/{*rest}", any(unknown_path))
}

/// An unknown path under `/api/v1`.
async fn unknown_path() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "There is no such API path. See /api/v1/openapi.json.",
    )
}
