//! The JSON API under `/api/v1` (SPEC §8), authenticated by the session
//! cookie or `Authorization: Bearer <access token>`. Errors are
//! `{"error": {"code", "message", "fields"}}` with 400/401/403/404/409/422
//! (and 503 `busy` with `Retry-After` when password hashing is saturated).
//! Handlers state who may call them with the `ApiCaller` methods.
//!
//! One module per resource; this one only routes. Each handler is written
//! with [`endpoint!`](endpoint), which gives it its `#[utoipa::path]`, and its
//! bodies are typed (`ToSchema`), so `GET /api/v1/openapi.json` ([`openapi`])
//! is generated from this code. A new route is one line in [`signed_in`] (or
//! [`routes`] for a public one): utoipa-axum's `routes!` registers the
//! handler with axum and its `#[utoipa::path]` in the document at once.

#[macro_use]
mod endpoint;
mod artifacts;
mod customers;
mod entitlements;
mod error;
mod extract;
mod me;
pub mod openapi;
mod pulls;
mod tokens;
mod upstreams;
mod users;

pub use error::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
use extract::ApiQuery;
pub use extract::{ApiCaller, ApiJson, ApiPath, CallerWithToken};

use crate::server::AppState;
use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> Router<AppState> {
    let (router, _) = routes().split_for_parts();
    router
        // Anything else under the API is a JSON 404, not the HTML page.
        .route("/api/v1", any(unknown_path))
        .route("/api/v1/", any(unknown_path))
        .route("/api/v1/{*rest}", any(unknown_path))
}

/// Every route under `/api/v1` with its entry in the OpenAPI document
/// ([`openapi::ApiDoc`] adds the title, security schemes, error responses and
/// tags). The handlers of one path go in one `routes!`.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(openapi::document))
        .merge(signed_in())
}

/// The routes for a signed-in caller: their handlers take an [`ApiCaller`]
/// (or a [`CallerWithToken`]), so each is documented with both ways to
/// authenticate and the 401 and 500 answers ([`openapi::signed_in`]).
fn signed_in() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::default()
        .routes(routes!(me::me))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(
            customers::list_customers,
            customers::create_customer
        ))
        .routes(routes!(
            customers::get_customer,
            customers::update_customer,
            customers::delete_customer
        ))
        .routes(routes!(users::add_customer_user))
        .routes(routes!(customers::customer_audit))
        .routes(routes!(artifacts::artifacts))
        .routes(routes!(pulls::list_pulls))
        .routes(routes!(
            entitlements::list_entitlements,
            entitlements::create_entitlement
        ))
        .routes(routes!(
            entitlements::get_entitlement,
            entitlements::update_entitlement,
            entitlements::delete_entitlement
        ))
        .routes(routes!(
            upstreams::list_upstreams,
            upstreams::create_upstream
        ))
        .routes(routes!(
            upstreams::get_upstream,
            upstreams::update_upstream,
            upstreams::delete_upstream
        ))
        .routes(routes!(upstreams::sync_upstream));
    openapi::signed_in(router.get_openapi_mut());
    router
}

/// The OpenAPI document of every route.
fn document() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// An unknown path under `/api/v1`.
async fn unknown_path() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "There is no such API path. See /api/v1/openapi.json.",
    )
}
