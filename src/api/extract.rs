//! The API's extractors: JSON bodies, path parameters and query strings with
//! their rejections answered as JSON errors, and the caller (a session or a
//! bearer access token) with what it may do.

use super::{ApiError, ErrorCode};
use crate::auth;
use crate::server::AppState;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use domain::Principal;
use services::authz::{Need, VendorCaller};
use services::session::CallerSlot;
use tower_sessions::Session;

/// A JSON body, with malformed JSON answered as a 400 API error.
pub struct ApiJson<T>(pub(super) T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| ApiJson(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    e.body_text(),
                )
            })
    }
}

/// A path parameter (`{id}`), with one of the wrong type (`/customers/abc`)
/// answered as a 400 API error rather than axum's plain text.
pub struct ApiPath<T>(pub(super) T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    format!("The path is not valid: {}", e.body_text()),
                )
            })
    }
}

/// A query string, with a malformed one answered as a 400 API error.
pub(super) struct ApiQuery<T>(pub(super) T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    e.body_text(),
                )
            })
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
