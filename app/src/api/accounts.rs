//! Accounts: first run, sign-in/out, who am I, the organization's users.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, respond, Need};
#[cfg(feature = "ssr")]
use domain::{
    password, store::NewOrg, DisplayName, Email, NewPassword, NewUser, OrgSlug, Plan, VendorRole,
};
use domain::{Org, Principal, UserId, VendorUser};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Collects per-field parse errors so a form reports all of them at once.
#[cfg(feature = "ssr")]
#[derive(Default)]
pub(crate) struct FormCheck {
    errors: std::collections::BTreeMap<String, String>,
}

#[cfg(feature = "ssr")]
impl FormCheck {
    pub(crate) fn field<T>(
        &mut self,
        name: &str,
        parsed: Result<T, domain::ParseError>,
    ) -> Option<T> {
        parsed
            .map_err(|e| {
                self.errors.entry(name.to_owned()).or_insert(e.0);
            })
            .ok()
    }

    pub(crate) fn finish(self) -> Result<(), AppError> {
        AppError::check_fields(self.errors)
    }
}

/// Who is signed in (`None` when nobody is). Callable by anyone.
#[server(endpoint = "get_me")]
pub async fn get_me() -> Result<Option<Principal>, AppError> {
    respond(ssr::principal().await)
}

/// Whether the first-run page should be offered. Callable by anyone.
#[server(endpoint = "needs_setup")]
pub async fn needs_setup() -> Result<bool, AppError> {
    respond(async { Ok(!ssr::ctx()?.store.has_orgs().await?) }.await)
}

/// Whether the first-run form must ask for the one-time set-up code (the
/// server listens on a non-loopback address). Callable by anyone.
#[server(endpoint = "setup_code_required")]
pub async fn setup_code_required() -> Result<bool, AppError> {
    respond(async { Ok(ssr::ctx()?.setup_code.is_some()) }.await)
}

/// First run: creates the first organization (on a 30-day Pro trial) and its
/// admin. Callable by anyone, but only while no organization exists (checked
/// before any work, and again by the store atomically with the insert); on a
/// server listening on a non-loopback address, only with the one-time
/// set-up code it printed in its log at start.
#[server(endpoint = "create_first_org")]
pub async fn create_first_org(
    org_name: String,
    slug: String,
    email: String,
    password: String,
    setup_code: Option<String>,
) -> Result<(), AppError> {
    respond(
        async move {
            let ctx = ssr::ctx()?;
            // Before anything costly (argon2): after set-up this is all a
            // request gets.
            if ctx.store.has_orgs().await? {
                return Err(domain::store::StoreError::AlreadySetUp.into());
            }
            let mut check = FormCheck::default();
            let name = check.field("org_name", DisplayName::parse(&org_name));
            let slug = check.field("slug", OrgSlug::parse(&slug));
            let email = check.field("email", Email::parse(&email));
            let password = check.field("password", NewPassword::parse(&password));
            if let Some(expected) = &ctx.setup_code {
                check.field(
                    "setup_code",
                    ssr::check_setup_code(expected, setup_code.as_deref().unwrap_or_default()),
                );
            }
            check.finish()?;
            let (Some(name), Some(slug), Some(email), Some(password)) =
                (name, slug, email, password)
            else {
                return Err(AppError::Internal);
            };
            let org = NewOrg {
                slug,
                name,
                plan: Plan::ProTrial,
                trial_ends_at: Some(chrono::Utc::now() + chrono::Duration::days(30)),
            };
            let hash = password::hash(password).await?;
            ctx.store
                .create_org_with_admin(org, email, hash, true)
                .await?;
            leptos_axum::redirect("/signin?welcome=1");
            Ok(())
        }
        .await,
    )
}

/// The longest `next`/`return_to` path followed.
const MAX_LOCAL_PATH: usize = 2048;

/// A local path to go to after sign-in (`next`) or after a form post
/// (`return_to`): only an absolute path on this site (no `//host`, no
/// `/\host`, no scheme) of plainly safe URL characters: no control
/// characters, spaces, backslashes or quotes, which browsers strip or
/// reinterpret (`/<TAB>/evil.example` is `//evil.example` to a browser) and
/// which cannot go in a `Location` header. Anything else is `None`. The one
/// check for every `next` and `return_to`.
pub fn safe_next(next: &str) -> Option<&str> {
    let safe_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
    let ok = next.len() <= MAX_LOCAL_PATH
        && next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(safe_char);
    ok.then_some(next)
}

/// The most sign-in input looked at: longer is refused before any work.
#[cfg(feature = "ssr")]
fn too_long(email: &str, password: &str) -> bool {
    email.trim().len() > domain::MAX_EMAIL_BYTES || password.len() > password::MAX_PASSWORD_BYTES
}

/// Signs in with email and password. Callable by anyone; throttled per email
/// and per client address; one answer for unknown email and wrong password.
/// An attempt is counted before the password is checked, so parallel wrong
/// guesses are not all checked; a successful one is given back.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, next: String) -> Result<(), AppError> {
    respond(
        async move {
            use std::time::Instant;
            if too_long(&email, &password) {
                tracing::info!("sign-in failed (over-long input)");
                return Err(AppError::BadCredentials);
            }
            let ctx = ssr::ctx()?;
            // Stored addresses may predate the narrower grammar for new ones.
            let email = Email::parse_existing(&email).ok();
            let addr_key = client_addr().await;
            let now = Instant::now();
            let too_many = |wait: std::time::Duration| {
                let minutes = wait.as_secs().div_ceil(60).max(1);
                AppError::TooManyAttempts(format!(
                    "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ))
            };
            ctx.addr_throttle
                .attempt(&addr_key, now)
                .map_err(too_many)?;
            let Some(email) = email else {
                // No such address can exist: nothing to check.
                tracing::info!("sign-in failed");
                return Err(AppError::BadCredentials);
            };
            let email_key = email.as_str();
            if let Err(wait) = ctx.email_throttle.attempt(email_key, now) {
                ctx.addr_throttle.forgive(&addr_key);
                return Err(too_many(wait));
            }
            let forgive = || {
                ctx.email_throttle.forgive(email_key);
                ctx.addr_throttle.forgive(&addr_key);
            };
            let credentials = match ctx.store.credentials(&email).await {
                Ok(c) => c,
                Err(e) => {
                    forgive();
                    return Err(e.into());
                }
            };
            let user_id = credentials.as_ref().map(|c| c.user_id);
            let epoch = credentials.as_ref().map_or(0, |c| c.session_epoch);
            let verified =
                match password::verify(credentials.map(|c| c.password_hash), password).await {
                    Ok(verified) => verified,
                    Err(busy) => {
                        // Not checked: not a failure.
                        forgive();
                        return Err(busy.into());
                    }
                };
            let Some(user_id) = user_id.filter(|_| verified) else {
                tracing::info!("sign-in failed");
                return Err(AppError::BadCredentials);
            };
            ctx.email_throttle.clear(email_key);
            ctx.addr_throttle.forgive(&addr_key);
            let principal = ctx
                .store
                .principal(user_id)
                .await?
                .ok_or(AppError::BadCredentials)?;
            ssr::start_session_at(user_id, epoch).await?;
            tracing::info!(user_id, "signed in");
            let home = principal.home_path();
            let dest = safe_next(&next)
                .filter(|n| n.starts_with(home) || (home == "/artifacts" && is_console_path(n)))
                .unwrap_or(home);
            leptos_axum::redirect(dest);
            Ok(())
        }
        .await,
    )
}

#[cfg(any(feature = "ssr", test))]
fn is_console_path(path: &str) -> bool {
    ["/artifacts", "/licenses", "/settings"].iter().any(|p| {
        path == *p || path.starts_with(&format!("{p}/")) || path.starts_with(&format!("{p}?"))
    })
}

#[cfg(feature = "ssr")]
async fn client_addr() -> String {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Signs out: the session is deleted. Callable by anyone.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    respond(
        async {
            let session = ssr::session().await?;
            let id = session.id();
            session.flush().await.map_err(ssr::internal)?;
            // Its open `/events` streams end too.
            if let Some(id) = id {
                ssr::ctx()?.session_ends.ended(id.to_string());
            }
            leptos_axum::redirect("/signin");
            Ok(())
        }
        .await,
    )
}

/// The Settings page's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub org: Org,
    pub users: Vec<VendorUser>,
    pub me: UserId,
    /// Whether the caller may manage users.
    pub is_admin: bool,
}

/// The organization and its users. Any vendor user of the org.
#[server(endpoint = "load_settings")]
pub async fn load_settings() -> Result<SettingsView, AppError> {
    respond(
        async {
            let me = ssr::require_vendor(Need::Read).await?;
            let store = ssr::ctx()?.store;
            Ok(SettingsView {
                org: store.org(me.org_id).await?,
                users: store.vendor_users(me.org_id).await?,
                me: me.user_id,
                is_admin: me.role.is_admin(),
            })
        }
        .await,
    )
}

/// Adds a vendor user to the caller's org. Vendor admins only.
#[server(endpoint = "add_vendor_user")]
pub async fn add_vendor_user(
    email: String,
    password: String,
    role: String,
) -> Result<(), AppError> {
    respond(
        async move {
            let me = ssr::require_vendor(Need::Admin).await?;
            let user = NewUser::parse(&email, &password, &role, VendorRole::parse)
                .map_err(AppError::fields)?;
            let hash = password::hash(user.password).await?;
            ssr::ctx()?
                .store
                .create_vendor_user(me.org_id, user.email, hash, user.role)
                .await?;
            Ok(())
        }
        .await,
    )
}

/// Changes a vendor user's role. Vendor admins only; the org keeps an admin.
#[server(endpoint = "change_vendor_role")]
pub async fn change_vendor_role(user_id: UserId, role: String) -> Result<(), AppError> {
    respond(
        async move {
            let me = ssr::require_vendor(Need::Admin).await?;
            let role = VendorRole::parse(&role).map_err(|e| AppError::field("role", e.0))?;
            let ctx = ssr::ctx()?;
            let before = me.role;
            ctx.store.set_vendor_role(me.org_id, user_id, role).await?;
            ctx.tokens.invalidate_user(user_id);
            // A changed role ends the user's sessions; an admin who changed
            // its own stays signed in, with a session of the new epoch.
            if user_id == me.user_id && role != before {
                ssr::start_session(user_id).await?;
            }
            Ok(())
        }
        .await,
    )
}

/// Removes a vendor user. Vendor admins only; not yourself, not the last admin.
#[server(endpoint = "remove_vendor_user")]
pub async fn remove_vendor_user(user_id: UserId) -> Result<(), AppError> {
    respond(
        async move {
            let me = ssr::require_vendor(Need::Admin).await?;
            if user_id == me.user_id {
                return Err(AppError::Invalid {
                    message: "You cannot remove yourself; ask another admin.".into(),
                    fields: Default::default(),
                });
            }
            let ctx = ssr::ctx()?;
            ctx.store.delete_vendor_user(me.org_id, user_id).await?;
            ctx.tokens.invalidate_user(user_id);
            Ok(())
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_stay_local() {
        assert_eq!(safe_next("/settings"), Some("/settings"));
        assert_eq!(safe_next("//evil.test/x"), None);
        assert_eq!(safe_next("/\\evil.test"), None);
        assert_eq!(safe_next("https://evil.test"), None);
        assert_eq!(safe_next(""), None);
        assert_eq!(safe_next("evil.test/x"), None);
        // Browsers drop tabs and newlines: `/\t/evil.test` is `//evil.test`.
        for bad in [
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\u{1}x",
            "/\u{7f}x",
            "/ /evil.example",
            "/settings\\x",
            "/\"x",
            "/<x>",
            "/é",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
        assert_eq!(
            safe_next("/portal/tokens?tab=a%20b&x=1"),
            Some("/portal/tokens?tab=a%20b&x=1")
        );
        assert_eq!(safe_next(&format!("/{}", "a".repeat(3000))), None);
        assert!(is_console_path("/licenses"));
        assert!(is_console_path("/settings?tab=users"));
        assert!(!is_console_path("/portal"));
        assert!(!is_console_path("/settingsx"));
    }
}
