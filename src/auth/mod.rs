//! Who is calling the registry (and, later, the JSON API): HTTP Basic with
//! the user's email and an access token, or `Authorization: Bearer <token>`.
//! Checked from the in-memory token cache; a miss reads the database once
//! and fills the cache. Revoked tokens are evicted by the revoking call, so
//! they fail on the very next request.

use axum::http::{header, HeaderMap};
use base64::Engine;
use chrono::Utc;
use domain::token_cache::{hash_token, CachedToken};
use services::Services;
use std::sync::Arc;

/// `Ok(None)` when no credentials were sent.
pub async fn authenticate(
    ctx: &Services,
    headers: &HeaderMap,
) -> Result<Option<Arc<CachedToken>>, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::Bad)?;
    let (email, token) = if let Some(b64) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| AuthError::Bad)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Bad)?;
        let (user, pass) = decoded.split_once(':').ok_or(AuthError::Bad)?;
        (Some(user.trim().to_ascii_lowercase()), pass.to_owned())
    } else if let Some(t) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    {
        (None, t.trim().to_owned())
    } else {
        return Err(AuthError::Bad);
    };
    let hash = hash_token(&token);
    let now = Utc::now();
    let cached = match ctx.tokens.get(&hash) {
        Some(c) => c,
        None => {
            let generation = ctx.tokens.generation();
            let record = ctx
                .store
                .token_by_hash(&hash)
                .await
                .map_err(AuthError::Internal)?;
            let Some(record) = record.filter(|r| !r.revoked) else {
                return Err(AuthError::Bad);
            };
            let principal = ctx
                .store
                .principal(record.user_id)
                .await
                .map_err(AuthError::Internal)?
                .ok_or(AuthError::Bad)?;
            let entry = CachedToken {
                token_id: record.id,
                expires_at: record.expires_at,
                principal,
            };
            ctx.tokens.insert(generation, hash, entry)
        }
    };
    if cached.expires_at.is_some_and(|exp| exp <= now) {
        return Err(AuthError::Bad);
    }
    if let Some(email) = email {
        if email != cached.principal.email() {
            return Err(AuthError::Bad);
        }
    }
    ctx.tokens.record_use(cached.token_id, now);
    Ok(Some(cached))
}

#[derive(Debug)]
pub enum AuthError {
    /// Wrong, expired or revoked credentials, or a malformed header.
    Bad,
    Internal(domain::store::StoreError),
}

/// Writes collected last-use times every `every` (batched, off the request path).
pub fn spawn_last_use_writer(
    ctx: Services,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let uses = ctx.tokens.take_uses();
            if !uses.is_empty() {
                if let Err(e) = ctx.store.touch_tokens(&uses).await {
                    tracing::warn!(error = %e, "writing token last-use times failed");
                }
            }
        }
    })
}
