//! Accounts: first run, sign-in/out, who am I, the organization's users.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, respond};
use domain::{Org, Principal, UserId, VendorUser};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Collects per-field parse errors so a form reports all of them at once.
#[cfg(feature = "ssr")]
pub(crate) type FormCheck = services::error::FieldCheck;

/// Who is signed in (`None` when nobody is). Callable by anyone.
#[server(endpoint = "get_me")]
pub async fn get_me() -> Result<Option<Principal>, AppError> {
    respond(ssr::principal().await)
}

/// Whether the first-run page should be offered. Callable by anyone.
#[server(endpoint = "needs_setup")]
pub async fn needs_setup() -> Result<bool, AppError> {
    respond(async { Ok(ssr::services()?.needs_setup().await?) }.await)
}

/// Whether the first-run form must ask for the one-time set-up code (the
/// server listens on a non-loopback address). Callable by anyone.
#[server(endpoint = "setup_code_required")]
pub async fn setup_code_required() -> Result<bool, AppError> {
    respond(async { Ok(ssr::services()?.setup_code.is_some()) }.await)
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
    ssr::answer(async {
        ssr::services()?
            .create_first_org(services::accounts::FirstOrg {
                org_name: &org_name,
                slug: &slug,
                email: &email,
                password: &password,
                setup_code: setup_code.as_deref(),
            })
            .await?;
        leptos_axum::redirect("/signin?welcome=1");
        Ok(())
    })
    .await
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

/// Signs in with email and password. Callable by anyone; throttled per email
/// and per client address; one answer for unknown email and wrong password.
/// An attempt is counted before the password is checked, so parallel wrong
/// guesses are not all checked; a successful one is given back.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, next: String) -> Result<(), AppError> {
    ssr::answer(async {
        let client = client_addr().await;
        let signed_in = ssr::services()?.sign_in(&email, &password, &client).await?;
        let user_id = signed_in.principal.user_id();
        ssr::start_session_at(user_id, signed_in.epoch).await?;
        let home = signed_in.principal.home_path();
        let dest = safe_next(&next)
            .filter(|n| n.starts_with(home) || (home == "/artifacts" && is_console_path(n)))
            .unwrap_or(home);
        leptos_axum::redirect(dest);
        Ok(())
    })
    .await
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
    ssr::answer(async {
        // Its open `/events` streams end too.
        ssr::services()?.sign_out(&ssr::session().await?).await?;
        leptos_axum::redirect("/signin");
        Ok(())
    })
    .await
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
    ssr::with_caller(async |services, me| {
        let settings = services.org_settings(me).await?;
        Ok(SettingsView {
            org: settings.org,
            users: settings.users,
            me: settings.caller.user_id,
            is_admin: settings.caller.role.is_admin(),
        })
    })
    .await
}

/// Adds a vendor user to the caller's org. Vendor admins only.
#[server(endpoint = "add_vendor_user")]
pub async fn add_vendor_user(
    email: String,
    password: String,
    role: String,
) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        services
            .add_vendor_user(me, &email, &password, &role)
            .await?;
        Ok(())
    })
    .await
}

/// Changes a vendor user's role. Vendor admins only; the org keeps an admin.
#[server(endpoint = "change_vendor_role")]
pub async fn change_vendor_role(user_id: UserId, role: String) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        // A changed role ends the user's sessions; an admin who changed
        // its own stays signed in, with a session of the new epoch.
        if services.change_vendor_role(me, user_id, &role).await? {
            services
                .restart_session(&ssr::session().await?, user_id)
                .await?;
        }
        Ok(())
    })
    .await
}

/// Removes a vendor user. Vendor admins only; not yourself, not the last admin.
#[server(endpoint = "remove_vendor_user")]
pub async fn remove_vendor_user(user_id: UserId) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| Ok(services.remove_vendor_user(me, user_id).await?)).await
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
