//! `/api/v1/tokens`: the caller's own access tokens.

use super::openapi::{BadRequest, Invalid, NotFound};
use super::{ApiCaller, ApiError, ApiJson, ApiPath, CallerWithToken};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::registry::TokenInfo;
use domain::DisplayName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub(super) struct TokenList {
    tokens: Vec<TokenInfo>,
}

/// `GET /api/v1/tokens` — the caller's own tokens (never secrets).
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "account",
    responses(
        (status = 200, description = "The caller's access tokens (never their secrets)", body = TokenList),
    )
)]
pub(super) async fn list_tokens(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
) -> Result<Json<TokenList>, ApiError> {
    Ok(Json(TokenList {
        tokens: s.ctx.store.tokens(p.user_id()).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct NewToken {
    /// 1–100 characters.
    label: String,
    /// In the future; none (the default) for a token that does not expire.
    /// With a bearer token, at most that token's expiry.
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

/// A new access token with its secret, shown only this once.
#[derive(Serialize, ToSchema)]
pub(super) struct CreatedToken {
    token: TokenInfo,
    /// The access token (`pcl_…`): the registry password, or `Authorization: Bearer` here.
    secret: String,
}

/// `POST /api/v1/tokens` — a token for the caller; the secret is returned once.
/// A token created with `Authorization: Bearer` expires no later than that
/// token (a later or missing `expires_at` becomes its expiry) and is revoked
/// with it.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "account",
    request_body = NewToken,
    responses(
        (status = 201, description = "Created; the secret is returned only now", body = CreatedToken),
        (status = 400, response = BadRequest),
        (status = 422, response = Invalid),
    )
)]
pub(super) async fn create_token(
    State(s): State<AppState>,
    caller: CallerWithToken,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let p = caller.principal;
    let mut fields = BTreeMap::new();
    let label = DisplayName::parse(&body.label)
        .map_err(|e| fields.insert("label".into(), e.0))
        .ok();
    if body.expires_at.is_some_and(|e| e <= Utc::now()) {
        fields.insert(
            "expires_at".into(),
            "The expiry must be in the future.".into(),
        );
    }
    let Some(label) = label.filter(|_| fields.is_empty()) else {
        return Err(ApiError::invalid(fields));
    };
    let (secret, hash) = domain::token_cache::new_token();
    let token = match caller.token {
        // Made with a token: it expires no later and is revoked with it.
        Some(parent) => s
            .ctx
            .store
            .create_child_token(parent.token_id, label.as_str(), &hash, body.expires_at)
            .await?
            .ok_or_else(ApiError::unauthenticated)?,
        None => {
            s.ctx
                .store
                .create_token(p.user_id(), label.as_str(), &hash, body.expires_at)
                .await?
        }
    };
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// `DELETE /api/v1/tokens/{id}` — revokes one of the caller's tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "account",
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked; registry access with it ends at once"),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn revoke_token(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let hash = s
        .ctx
        .store
        .revoke_token(p.user_id(), id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    s.ctx.tokens.remove(&hash);
    Ok(StatusCode::NO_CONTENT)
}
