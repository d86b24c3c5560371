//! The API's extractors: JSON bodies, path parameters and query strings with
//! their rejections answered as JSON errors, and the caller (a session or a
//! bearer access token) with what it may do.

use super::ApiError;
use crate::auth;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::Json;
use domain::Principal;
use services::authz::{Need, VendorCaller};
use services::session::CallerSlot;
use tower_sessions::Session;

/// A JSON body, with malformed JSON answered as a 400 API error.
#[derive(FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub(super) T);

/// A path parameter (`{id}`), with one of the wrong type (`/customers/abc`)
/// answered as a 400 API error rather than axum's plain text.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub(super) T);

/// A query string, with a malformed one answered as a 400 API error.
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub(super) struct ApiQuery<T>(pub(super) T);

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        ApiError::bad_request(e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::bad_request(format!("The path is not valid: {}", e.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::bad_request(e.body_text())
    }
}

/// Who is calling: a session or a bearer access token.
pub struct ApiCaller(pub Principal);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CallerWithToken { principal, .. } =
            CallerWithToken::from_request_parts(parts, state).await?;
        Ok(ApiCaller(principal))
    }
}

/// The caller and, when it sent one, the access token it authenticated
/// with (`None`: the session cookie).
pub struct CallerWithToken {
    pub principal: Principal,
    pub token: Option<std::sync::Arc<domain::token_cache::CachedToken>>,
}

impl FromRequestParts<AppState> for CallerWithToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match auth::authenticate(&state.ctx, &parts.headers).await {
            Ok(Some(cached)) => {
                return Ok(CallerWithToken {
                    principal: cached.principal.clone(),
                    token: Some(cached),
                })
            }
            Ok(None) => {}
            Err(auth::AuthError::Bad) => return Err(ApiError::unauthenticated()),
            Err(auth::AuthError::Internal(e)) => return Err(e.into()),
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unauthenticated())?;
        let principal = state
            .ctx
            .caller(parts.extensions.get::<CallerSlot>(), &session)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(CallerWithToken {
            principal,
            token: None,
        })
    }
}

impl ApiCaller {
    /// A vendor user whose role meets `need` ([`services::authz`]).
    pub(super) fn vendor(&self, need: Need) -> Result<VendorCaller, ApiError> {
        Ok(services::authz::vendor(&self.0, need)?)
    }
}
