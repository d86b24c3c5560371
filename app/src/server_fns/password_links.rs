//! The public set-password page behind a one-time link
//! (`/set-password/:secret`): anyone holding the link may use it, once.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, respond};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the page says for an unknown, used or expired link alike.
pub const LINK_INVALID: &str =
    "This link is not valid: it may have been used already or have expired. Ask your vendor for a new one.";

/// Whom a valid link is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordLinkView {
    pub email: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The link's user, or `NotFound` for an unknown, used or expired link.
/// Callable by anyone.
#[server(endpoint = "get_password_link")]
pub async fn get_password_link(secret: String) -> Result<PasswordLinkView, AppError> {
    respond(
        async move {
            let hash = domain::password_links::hash_secret(secret.trim());
            let link = ssr::services()?
                .store
                .password_link(&hash, chrono::Utc::now())
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(PasswordLinkView {
                email: link.email,
                expires_at: link.expires_at,
            })
        }
        .await,
    )
}

/// Sets the password of the link's user (typed twice), uses up the link and
/// signs the user in. Callable by anyone holding a valid link.
#[server(endpoint = "set_password")]
pub async fn set_password(
    secret: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    respond(
        async move {
            let ctx = ssr::services()?;
            let invalid = || AppError::Invalid {
                message: LINK_INVALID.into(),
                fields: Default::default(),
            };
            let hash = domain::password_links::hash_secret(secret.trim());
            if ctx
                .store
                .password_link(&hash, chrono::Utc::now())
                .await?
                .is_none()
            {
                return Err(invalid());
            }
            let password =
                domain::parse_confirmed_password(&password, &confirm).map_err(AppError::fields)?;
            let password_hash = domain::password::hash(password).await?;
            let user_id = ctx
                .store
                .use_password_link(&hash, password_hash, chrono::Utc::now())
                .await?
                .ok_or_else(invalid)?;
            let principal = ctx.store.principal(user_id).await?.ok_or_else(invalid)?;
            ctx.restart_session(&ssr::session().await?, user_id).await?;
            tracing::info!(
                user_id = user_id.get(),
                "password set with a one-time link; signed in"
            );
            leptos_axum::redirect(principal.home_path());
            Ok(())
        }
        .await,
    )
}
