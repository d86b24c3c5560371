//! `/api/v1/tokens`: the caller's own access tokens.

use super::endpoint::{created, no_content, Created};
use super::openapi::{BadRequest, Invalid, NotFound};
use super::{ApiCaller, ApiJson, ApiPath, CallerWithToken};
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

endpoint! {
    /// `GET /api/v1/tokens` — the caller's own tokens (never secrets).
    get("/api/v1/tokens", tag = "account",
        responses((status = 200, description = "The caller's access tokens (never their secrets)", body = TokenList)))
    fn list_tokens(s, ApiCaller(p): ApiCaller) -> Json<TokenList> {
        let tokens = s.ctx.tokens(&p).await?;
        Ok(Json(TokenList { tokens }))
    }
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

endpoint! {
    /// `POST /api/v1/tokens` — a token for the caller; the secret is returned once.
    /// A token created with `Authorization: Bearer` expires no later than that
    /// token (a later or missing `expires_at` becomes its expiry) and is revoked
    /// with it.
    post("/api/v1/tokens", tag = "account", request_body = NewToken,
        responses((status = 201, description = "Created; the secret is returned only now", body = CreatedToken), BadRequest, Invalid))
    fn create_token(s, caller: CallerWithToken, ApiJson(body): ApiJson<NewToken>) -> Created<CreatedToken> {
        // Made with a token: it expires no later and is revoked with it.
        let issuer = match &caller.token {
            Some(parent) => Issuer::Token {
                id: parent.token_id,
            },
            None => Issuer::User(&caller.principal),
        };
        created(s.ctx.create_token(issuer, &body.label, body.expires_at).await?)
    }
}

endpoint! {
    /// `DELETE /api/v1/tokens/{id}` — revokes one of the caller's tokens.
    delete("/api/v1/tokens/{id}", tag = "account", params(("id" = i64, Path, description = "Token id")),
        responses((status = 204, description = "Revoked; registry access with it ends at once"), NotFound))
    fn revoke_token(s, ApiCaller(p): ApiCaller, ApiPath(id): ApiPath<TokenId>) -> StatusCode {
        no_content(s.ctx.revoke_token(&p, id).await)
    }
}
