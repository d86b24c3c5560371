//! The public set-password page behind a one-time link
//! (`/set-password/:secret`): anyone holding the link may use it, once.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr;
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
    ssr::answer(async {
        let link = match ssr::services()?.password_link(&secret).await {
            Err(services::ServiceError::LinkInvalid) => return Err(AppError::NotFound),
            other => other?,
        };
        Ok(PasswordLinkView {
            email: link.email,
            expires_at: link.expires_at,
        })
    })
    .await
}

/// Sets the password of the link's user (typed twice), uses up the link and
/// signs the user in. Callable by anyone holding a valid link.
#[server(endpoint = "set_password")]
pub async fn set_password(
    secret: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    ssr::answer(async {
        let ctx = ssr::services()?;
        let principal = ctx
            .set_password_with_link(&secret, &password, &confirm)
            .await?;
        let user_id = principal.user_id();
        ctx.restart_session(&ssr::session().await?, user_id).await?;
        tracing::info!(
            user_id = user_id.get(),
            "password set with a one-time link; signed in"
        );
        leptos_axum::redirect(principal.home_path());
        Ok(())
    })
    .await
}
