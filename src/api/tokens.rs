//! `/api/v1/tokens`: the caller's own access tokens.

use super::openapi::{BadRequest, Invalid, NotFound};
use super::{ApiCaller, ApiError, ApiJson, ApiPath, CallerWithToken};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::registry::{CreatedToken, TokenInfo};
use domain::TokenId;
use serde::{Deserialize, Serialize};
use services::tokens::Issuer;
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
        tokens: s.ctx.tokens(&p).await?,
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
    // Made with a token: it expires no later and is revoked with it.
    let issuer = match &caller.token {
        Some(parent) => Issuer::Token {
            id: parent.token_id,
        },
        None => Issuer::User(&caller.principal),
    };
    let created = s
        .ctx
        .create_token(issuer, &body.label, body.expires_at)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
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
    ApiPath(id): ApiPath<TokenId>,
) -> Result<StatusCode, ApiError> {
    s.ctx.revoke_token(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
