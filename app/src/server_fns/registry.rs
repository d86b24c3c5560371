//! Access tokens and the artifact catalog, for the console and the portal.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, Need};
use domain::registry::{ArtifactSummary, TagInfo, TokenInfo};
use domain::TokenId;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use domain::registry::CreatedToken;

/// The caller's tokens, and a token just created without JavaScript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokensView {
    pub tokens: Vec<TokenInfo>,
    /// Shown once: present only on the first load after creation.
    pub fresh: Option<CreatedToken>,
}

/// The caller's access tokens (vendor or customer user). `new_token` is the
/// one-time key a plain form post was redirected with (see `create_token`).
#[server(endpoint = "list_tokens")]
pub async fn list_tokens(new_token: Option<String>) -> Result<TokensView, AppError> {
    ssr::with_caller(async |services, me| {
        let fresh = ssr::fresh_tokens()?
            .take(me.user_id(), new_token.as_deref().unwrap_or_default())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        Ok(TokensView {
            tokens: services.tokens(me).await?,
            fresh,
        })
    })
    .await
}

/// Creates an access token for the caller. `expires_in_days` empty means no
/// expiry. Any signed-in user, for themselves.
#[server(endpoint = "create_token")]
pub async fn create_token(
    label: String,
    expires_in_days: String,
    // The page to come back to after a plain form post.
    return_to: Option<String>,
) -> Result<CreatedToken, AppError> {
    ssr::with_caller(async |services, me| {
        // Where a plain form post goes back to, settled before any work:
        // only a safe local path, else the settings page.
        let page = super::accounts::safe_next(return_to.as_deref().unwrap_or_default())
            .unwrap_or("/settings");
        let page = page.split('?').next().unwrap_or(page);
        // Both fields' errors show at once (the use case checks the
        // label again).
        let mut check = super::accounts::FormCheck::default();
        check.field("label", domain::DisplayName::parse(&label));
        let days = check.field("expires_in_days", parse_expiry_days(&expires_in_days));
        check.finish()?;
        let expires_at = days
            .flatten()
            .map(|d| services.clock.now() + chrono::Duration::days(d));
        let created = services
            .create_token(services::tokens::Issuer::User(me), &label, expires_at)
            .await?;
        if ssr::is_plain_form_post() {
            // Without JavaScript the answer is a redirect back to the
            // page: it finds the secret by a one-time key in its URL.
            let bytes = serde_json::to_vec(&created).map_err(ssr::internal)?;
            let key = ssr::fresh_tokens()?.put(me.user_id(), bytes);
            leptos_axum::redirect(&format!("{page}?new_token={key}"));
        }
        Ok(created)
    })
    .await
}

/// Days until a token expires: empty for never, else 1–3650.
pub fn parse_expiry_days(input: &str) -> Result<Option<i64>, domain::ParseError> {
    match input.trim() {
        "" => Ok(None),
        d => d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .map(Some)
            .ok_or_else(|| {
                domain::ParseError("Choose a number of days from 1 to 3650, or no expiry.".into())
            }),
    }
}

/// Revokes one of the caller's tokens; effective on the next request.
#[server(endpoint = "revoke_token")]
pub async fn revoke_token(token_id: TokenId) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| Ok(services.revoke_token(me, token_id).await?)).await
}

/// The Artifacts page: a page of the org's artifacts and where to push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactsView {
    pub artifacts: Vec<ArtifactSummary>,
    /// The cursor of the next page (`?after=`), if there is one.
    pub next: Option<String>,
    /// `host[:port]` of the registry, from the public URL.
    pub registry_host: String,
    pub org_slug: String,
    pub email: String,
    pub can_push: bool,
}

/// A page of the org's artifacts by name: those whose name contains `q`,
/// after the cursor `after`, at most `limit` (1–1000, default 50). Any
/// vendor user.
#[server(endpoint = "list_artifacts")]
pub async fn list_artifacts(
    q: Option<String>,
    after: Option<String>,
    limit: Option<String>,
) -> Result<ArtifactsView, AppError> {
    ssr::with_caller(async |services, p| {
        let me = services::authz::vendor(p, Need::Read)?;
        let (limit, after) = super::page_params(limit, after)?;
        let query = domain::paging::ArtifactQuery {
            search: q.unwrap_or_default(),
            after,
            limit,
            only: None,
        };
        let page = services.org_artifacts(p, &query).await?;
        Ok(ArtifactsView {
            artifacts: page.items,
            next: page.next,
            registry_host: services.registry_host(),
            org_slug: me.org_slug,
            email: me.email,
            can_push: me.role.can_write(),
        })
    })
    .await
}

/// One artifact with its tags, newest first (in the portal, those the
/// caller may pull), and where to pull it from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactView {
    pub artifact: ArtifactSummary,
    pub tags: Vec<TagInfo>,
    /// `host[:port]` of the registry, from the public URL.
    pub registry_host: String,
    /// The vendor's namespace.
    pub org_slug: String,
}

/// One artifact of the caller's org. Any vendor user; another org's
/// artifact is not found.
#[server(endpoint = "get_artifact")]
pub async fn get_artifact(name: String) -> Result<ArtifactView, AppError> {
    ssr::with_caller(async |services, p| {
        let me = services::authz::vendor(p, Need::Read)?;
        let (artifact, tags) = services.org_artifact(p, &name).await?;
        Ok(ArtifactView {
            artifact,
            tags,
            registry_host: services.registry_host(),
            org_slug: me.org_slug,
        })
    })
    .await
}

/// Turns immutable tags on or off for the caller's org. Vendor admins only.
#[server(endpoint = "set_immutable_tags")]
pub async fn set_immutable_tags(enabled: String) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        // Who may is checked first: a read-only user learns nothing
        // about the value's grammar.
        services::authz::vendor(me, Need::Admin)?;
        let enabled = match enabled.as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(AppError::field("enabled", "Choose true or false.")),
        };
        Ok(services.set_immutable_tags(me, enabled).await?)
    })
    .await
}
