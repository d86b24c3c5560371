//! Access tokens and the artifact catalog, for the console and the portal.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, respond, Need};
use domain::registry::{ArtifactSummary, TagInfo, TokenInfo};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A token just created: the secret is shown once, never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: TokenInfo,
    pub secret: String,
}

/// The caller's access tokens (vendor or customer user).
#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, AppError> {
    respond(
        async {
            let me = ssr::principal().await?.ok_or(AppError::Unauthenticated)?;
            Ok(ssr::ctx()?.store.tokens(me.user_id()).await?)
        }
        .await,
    )
}

/// Creates an access token for the caller. `expires_in_days` empty means no
/// expiry. Any signed-in user, for themselves.
#[server(endpoint = "create_token")]
pub async fn create_token(
    label: String,
    expires_in_days: String,
) -> Result<CreatedToken, AppError> {
    respond(
        async move {
            let me = ssr::principal().await?.ok_or(AppError::Unauthenticated)?;
            let mut check = super::accounts::FormCheck::default();
            let label = check.field("label", domain::DisplayName::parse(&label));
            let days = check.field(
                "expires_in_days",
                match expires_in_days.trim() {
                    "" => Ok(None),
                    d => d
                        .parse::<i64>()
                        .ok()
                        .filter(|d| (1..=3650).contains(d))
                        .map(Some)
                        .ok_or_else(|| {
                            domain::ParseError(
                                "Choose a number of days from 1 to 3650, or no expiry.".into(),
                            )
                        }),
                },
            );
            check.finish()?;
            let (Some(label), Some(days)) = (label, days) else {
                return Err(AppError::Internal);
            };
            let expires_at = days.map(|d| chrono::Utc::now() + chrono::Duration::days(d));
            let (secret, hash) = domain::token_cache::new_token();
            let token = ssr::ctx()?
                .store
                .create_token(me.user_id(), label.as_str(), &hash, expires_at)
                .await?;
            Ok(CreatedToken { token, secret })
        }
        .await,
    )
}

/// Revokes one of the caller's tokens; effective on the next request.
#[server(endpoint = "revoke_token")]
pub async fn revoke_token(token_id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let me = ssr::principal().await?.ok_or(AppError::Unauthenticated)?;
            let ctx = ssr::ctx()?;
            let hash = ctx
                .store
                .revoke_token(me.user_id(), token_id)
                .await?
                .ok_or(AppError::NotFound)?;
            ctx.tokens.remove(&hash);
            Ok(())
        }
        .await,
    )
}

/// The Artifacts page: the org's artifacts and where to push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactsView {
    pub artifacts: Vec<ArtifactSummary>,
    /// `host[:port]` of the registry, from the public URL.
    pub registry_host: String,
    pub org_slug: String,
    pub email: String,
    pub can_push: bool,
}

/// The org's artifacts. Any vendor user.
#[server(endpoint = "list_artifacts")]
pub async fn list_artifacts() -> Result<ArtifactsView, AppError> {
    respond(
        async {
            let me = ssr::require_vendor(Need::Read).await?;
            let ctx = ssr::ctx()?;
            let principal = ssr::principal().await?.ok_or(AppError::Unauthenticated)?;
            Ok(ArtifactsView {
                artifacts: ctx.store.artifacts(me.org_id).await?,
                registry_host: ctx.registry_host(),
                org_slug: me.org_slug,
                email: principal.email().to_owned(),
                can_push: me.role.can_write(),
            })
        }
        .await,
    )
}

/// One artifact with its tags, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactView {
    pub artifact: ArtifactSummary,
    pub tags: Vec<TagInfo>,
    pub registry_host: String,
    pub org_slug: String,
}

/// One artifact of the caller's org. Any vendor user; another org's
/// artifact is not found.
#[server(endpoint = "get_artifact")]
pub async fn get_artifact(name: String) -> Result<ArtifactView, AppError> {
    respond(
        async move {
            let me = ssr::require_vendor(Need::Read).await?;
            let ctx = ssr::ctx()?;
            let (artifact, tags) = ctx
                .store
                .artifact_tags(me.org_id, &name)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(ArtifactView {
                artifact,
                tags,
                registry_host: ctx.registry_host(),
                org_slug: me.org_slug,
            })
        }
        .await,
    )
}
