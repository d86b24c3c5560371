//! Server-side helpers for server functions: the use cases ([`Services`],
//! Leptos context), who is calling, and how errors become responses (once,
//! for every server function: `From<ServiceError> for AppError`).

use crate::server_fns::AppError;
use axum::http::{header, request::Parts, StatusCode};
use domain::store::StoreError;
use domain::{Principal, UserId};
use leptos::prelude::*;
pub use services::authz::{CustomerCaller, Need, VendorCaller};
use services::{ServiceError, Services};
use std::sync::Arc;
use tower_sessions::Session;

/// Just-created secrets (access tokens, set-password links), by a random
/// one-time key that goes in the redirect URL (the secret itself never
/// does). Readable once, only by the user who created them, for a few
/// minutes: the first view takes it, so a reload, the browser history or
/// anyone else who sees the URL later finds nothing.
#[derive(Default)]
pub struct FreshTokens {
    entries: std::sync::Mutex<std::collections::HashMap<String, FreshEntry>>,
}

/// Who created it, when, and the serialized token.
type FreshEntry = (UserId, std::time::Instant, Vec<u8>);

impl FreshTokens {
    const TTL: std::time::Duration = std::time::Duration::from_secs(300);

    /// Keeps `value` for `user`; returns the key for the URL.
    pub fn put(&self, user: UserId, value: Vec<u8>) -> String {
        let (key, _) = domain::token_cache::new_token();
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, at, _)| at.elapsed() < Self::TTL);
        map.insert(key.clone(), (user, std::time::Instant::now(), value));
        key
    }

    /// Takes the value behind `key` if `user` put it there: a second call
    /// finds nothing. Another user's call leaves it in place.
    pub fn take(&self, user: UserId, key: &str) -> Option<Vec<u8>> {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some((owner, at, _)) if *owner == user && at.elapsed() < Self::TTL => {
                map.remove(key).map(|(_, _, v)| v)
            }
            _ => None,
        }
    }
}

/// The use cases, provided as Leptos context by the server.
pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or_else(|| {
        tracing::error!("Services missing from context");
        AppError::Internal
    })
}

/// Secrets just created by a plain form post, provided as Leptos context.
pub fn fresh_tokens() -> Result<Arc<FreshTokens>, AppError> {
    use_context::<Arc<FreshTokens>>().ok_or_else(|| {
        tracing::error!("FreshTokens missing from context");
        AppError::Internal
    })
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "session layer missing");
        AppError::Internal
    })
}

/// The signed-in principal, if any. A session whose user has been removed
/// (or whose epoch moved on) counts as signed out.
/// Looked up once per request (the page guard and every server function
/// of a page render share the request's [`services::session::CallerSlot`]).
pub async fn principal() -> Result<Option<Principal>, AppError> {
    let session = session().await?;
    let slot = use_context::<Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<services::session::CallerSlot>()
            .cloned()
    });
    Ok(services()?.caller(slot.as_ref(), &session).await?)
}

/// The signed-in principal; `Unauthenticated` when nobody is.
pub async fn signed_in() -> Result<Principal, AppError> {
    principal().await?.ok_or(AppError::Unauthenticated)
}

/// Whether this request is a plain HTML form post (no JavaScript): such a
/// request is answered with a redirect, whatever the outcome.
pub fn is_plain_form_post() -> bool {
    use_context::<Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// Starts a session of a user who just signed in, at the epoch read with
/// the credentials that were checked: if the password or role changed
/// meanwhile, the session store refuses to write it.
pub async fn start_session_at(user_id: UserId, epoch: i64) -> Result<(), AppError> {
    let user = services::session::SessionUser { id: user_id, epoch };
    services::session::start(&session().await?, user)
        .await
        .map_err(internal)
}

/// Where a plain form post goes back to after an error: the form's page with
/// what was typed in its query (so the page shows it again) and the error in
/// the query parameters Leptos reads into the form's `ServerAction`.
pub fn form_error_url(
    form_path: &str,
    draft: &impl serde::Serialize,
    server_fn_path: &str,
    error: AppError,
) -> String {
    let query = serde_qs::to_string(draft).unwrap_or_default();
    let base = format!("http://form{form_path}?{query}");
    match leptos::server_fn::error::ServerFnUrlError::new(server_fn_path, error).to_url(&base) {
        Ok(url) => format!("{}?{}", url.path(), url.query().unwrap_or_default()),
        Err(_) => form_path.to_owned(),
    }
}

/// Sets the status of the response being rendered (a page or a server
/// function's answer); outside a request, nothing.
pub fn set_status(status: StatusCode) {
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.set_status(status);
    }
}

/// Finishes a server function: an error gets its proper HTTP status
/// (400/401/403/404/409/429/503 rather than 500; 503 with `Retry-After`) unless the request is a plain
/// form post, which must stay a redirect back to the form.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if !is_plain_form_post() {
            set_status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST));
            if *e == AppError::Busy {
                if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
                    opts.insert_header(
                        header::RETRY_AFTER,
                        header::HeaderValue::from(domain::password::RETRY_AFTER_SECS),
                    );
                }
            }
        }
    }
    result
}

/// Runs a server function's work and answers with its result ([`respond`]).
pub async fn answer<T>(
    work: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    respond(work.await)
}

/// Runs a server function's use case for the signed-in caller and answers
/// with its result: the frame of every server function that acts for
/// someone. The caller is resolved once (`Unauthenticated` when nobody is
/// signed in); the use case decides what the caller may do.
pub async fn with_caller<T>(
    use_case: impl AsyncFnOnce(&Services, &Principal) -> Result<T, AppError>,
) -> Result<T, AppError> {
    answer(async {
        let me = signed_in().await?;
        use_case(&services()?, &me).await
    })
    .await
}

pub fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "internal error");
    AppError::Internal
}

impl From<domain::password::Busy> for AppError {
    fn from(_: domain::password::Busy) -> Self {
        AppError::Busy
    }
}

impl From<ServiceError> for AppError {
    /// The one place a use case's refusal becomes the words of the UI.
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unauthenticated => AppError::Unauthenticated,
            ServiceError::Forbidden => AppError::Forbidden,
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Invalid(fields) => AppError::fields(fields),
            ServiceError::PlanRequired => AppError::PlanRequired,
            ServiceError::BadCredentials => AppError::BadCredentials,
            ServiceError::TooManyAttempts { wait } => {
                let minutes = wait.as_secs().div_ceil(60).max(1);
                AppError::TooManyAttempts(format!(
                    "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ))
            }
            ServiceError::LinkInvalid => AppError::Invalid {
                message: crate::server_fns::LINK_INVALID.into(),
                fields: Default::default(),
            },
            ServiceError::RemoveSelf => AppError::Invalid {
                message: "You cannot remove yourself; ask another admin.".into(),
                fields: Default::default(),
            },
            ServiceError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        use domain::messages::Told;
        match domain::messages::store_error(&e) {
            Told::NotFound => AppError::NotFound,
            Told::Conflict { field, message } => AppError::Conflict {
                message,
                field: Some(field.to_owned()),
            },
            Told::Rejected(m) => AppError::Invalid {
                message: m,
                fields: Default::default(),
            },
            Told::Invalid(fields) => AppError::Invalid {
                message: "Please correct the highlighted fields.".into(),
                fields,
            },
            Told::Internal => internal(e),
            Told::Busy => AppError::Busy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_secret_is_shown_once_and_only_to_its_creator() {
        let fresh = FreshTokens::default();
        let (alice, bob) = (UserId::from(1), UserId::from(2));
        let key = fresh.put(alice, b"secret".to_vec());
        assert_eq!(fresh.take(bob, &key), None);
        assert_eq!(fresh.take(alice, "other key"), None);
        assert_eq!(fresh.take(alice, &key).as_deref(), Some(&b"secret"[..]));
        assert_eq!(fresh.take(alice, &key), None);
    }
}
