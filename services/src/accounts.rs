//! Accounts: organizations (first run and the operator's CLI), sign-in, and
//! the organization's vendor users.

use crate::authz::{self, Need};
use crate::error::{FieldCheck, ServiceError, ServiceResult};
use crate::Services;
use chrono::{DateTime, Utc};
use domain::password_links;
use domain::store::{NewOrg, PasswordLinkUser, StoreError};
use domain::{
    password, DisplayName, Email, NewPassword, NewUser, Org, OrgSlug, Plan, Principal, UserId,
    VendorRole, VendorUser,
};
use std::time::Instant;

/// How long a new trial lasts unless an end is given.
pub const TRIAL_DAYS: i64 = 30;

/// When a new plan's trial ends: `given`, or [`TRIAL_DAYS`] from `now` for
/// a trial; no end for other plans (and `given` is an error there).
pub fn trial_end(
    plan: Plan,
    given: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, domain::ParseError> {
    match (plan, given) {
        (Plan::ProTrial, Some(end)) => Ok(Some(end)),
        (Plan::ProTrial, None) => Ok(Some(now + chrono::Duration::days(TRIAL_DAYS))),
        (_, Some(_)) => Err(domain::ParseError(
            "a trial end only applies to the pro_trial plan".into(),
        )),
        (_, None) => Ok(None),
    }
}

/// The first-run form.
#[derive(Debug, Clone, Copy)]
pub struct FirstOrg<'a> {
    pub org_name: &'a str,
    pub slug: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub setup_code: Option<&'a str>,
}

/// A successful sign-in: whom to start a session for.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    /// The user's session epoch read with the credentials that were checked.
    pub epoch: i64,
}

/// The Settings page: the organization and its users.
#[derive(Debug, Clone)]
pub struct OrgSettings {
    pub org: Org,
    pub users: Vec<VendorUser>,
    pub caller: authz::VendorCaller,
}

impl Services {
    /// Whether no organization exists yet (the first-run page is offered).
    pub async fn needs_setup(&self) -> ServiceResult<bool> {
        Ok(!self.store.has_orgs().await?)
    }

    /// First run: the first organization, on a Pro trial, and its admin.
    /// Only while no organization exists (checked before any costly work,
    /// and by the store atomically with the insert); with the one-time
    /// set-up code when the server asks for one.
    pub async fn create_first_org(&self, form: FirstOrg<'_>) -> ServiceResult<()> {
        if self.store.has_orgs().await? {
            return Err(StoreError::AlreadySetUp.into());
        }
        let mut check = FieldCheck::default();
        let name = check.field("org_name", DisplayName::parse(form.org_name));
        let slug = check.field("slug", OrgSlug::parse(form.slug));
        let email = check.field("email", Email::parse(form.email));
        let password = check.field("password", NewPassword::parse(form.password));
        if let Some(expected) = &self.setup_code {
            check.field(
                "setup_code",
                crate::setup::check_setup_code(expected, form.setup_code.unwrap_or_default()),
            );
        }
        let (name, slug, email, password) =
            check.ok((|| Some((name?, slug?, email?, password?)))())?;
        let plan = Plan::ProTrial;
        let trial_ends_at = trial_end(plan, None, self.clock.now())
            .map_err(|e| ServiceError::field("plan", e.0))?;
        self.create_org(
            NewOrg {
                slug,
                name,
                plan,
                trial_ends_at,
            },
            email,
            password,
            true,
        )
        .await?;
        Ok(())
    }

    /// Creates an organization with its admin (`first`: only if none
    /// exists). The first run and `portcullis admin create-org`.
    pub async fn create_org(
        &self,
        org: NewOrg,
        admin: Email,
        password: NewPassword,
        first: bool,
    ) -> ServiceResult<(Org, VendorUser)> {
        let hash = password::hash(password).await?;
        Ok(self
            .store
            .create_org_with_admin(org, admin, hash, first)
            .await?)
    }

    /// Signs in with email and password: throttled per email and per client
    /// address (`client`), one answer for an unknown email and a wrong
    /// password. An attempt is counted before the password is checked, so
    /// parallel wrong guesses are not all checked; a successful one (and one
    /// that could not be checked) is given back.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: &str,
    ) -> ServiceResult<SignedIn> {
        // Over-long input is refused before any work.
        if email.trim().len() > domain::MAX_EMAIL_BYTES
            || password.len() > password::MAX_PASSWORD_BYTES
        {
            tracing::info!("sign-in failed (over-long input)");
            return Err(ServiceError::BadCredentials);
        }
        // Stored addresses may predate the narrower grammar for new ones.
        let email = Email::parse_existing(email).ok();
        let now = Instant::now();
        self.addr_throttle
            .attempt(client, now)
            .map_err(|wait| ServiceError::TooManyAttempts { wait })?;
        let Some(email) = email else {
            // No such address can exist: nothing to check.
            tracing::info!("sign-in failed");
            return Err(ServiceError::BadCredentials);
        };
        let email_key = email.as_str();
        if let Err(wait) = self.email_throttle.attempt(email_key, now) {
            self.addr_throttle.forgive(client);
            return Err(ServiceError::TooManyAttempts { wait });
        }
        let forgive = || {
            self.email_throttle.forgive(email_key);
            self.addr_throttle.forgive(client);
        };
        let credentials = match self.store.credentials(&email).await {
            Ok(c) => c,
            Err(e) => {
                forgive();
                return Err(e.into());
            }
        };
        let user_id = credentials.as_ref().map(|c| c.user_id);
        let epoch = credentials.as_ref().map_or(0, |c| c.session_epoch);
        let verified =
            match password::verify(credentials.map(|c| c.password_hash), password.to_owned()).await
            {
                Ok(verified) => verified,
                Err(busy) => {
                    // Not checked: not a failure.
                    forgive();
                    return Err(busy.into());
                }
            };
        let Some(user_id) = user_id.filter(|_| verified) else {
            tracing::info!("sign-in failed");
            return Err(ServiceError::BadCredentials);
        };
        self.email_throttle.clear(email_key);
        self.addr_throttle.forgive(client);
        let principal = self
            .store
            .principal(user_id)
            .await?
            .ok_or(ServiceError::BadCredentials)?;
        tracing::info!(user_id = user_id.get(), "signed in");
        Ok(SignedIn { principal, epoch })
    }

    /// The organization and its users. Any vendor user of the org.
    pub async fn org_settings(&self, p: &Principal) -> ServiceResult<OrgSettings> {
        let caller = authz::vendor(p, Need::Read)?;
        Ok(OrgSettings {
            org: self.store.org(caller.org_id).await?,
            users: self.store.vendor_users(caller.org_id).await?,
            caller,
        })
    }

    /// Turns immutable tags on or off for the caller's org. Vendor admins
    /// only.
    pub async fn set_immutable_tags(&self, p: &Principal, enabled: bool) -> ServiceResult<()> {
        let me = authz::vendor(p, Need::Admin)?;
        Ok(self.store.set_immutable_tags(me.org_id, enabled).await?)
    }

    /// The user a one-time set-password link is for; `LinkInvalid` for an
    /// unknown, used or expired link alike. Anyone holding the link.
    pub async fn password_link(&self, secret: &str) -> ServiceResult<PasswordLinkUser> {
        let hash = password_links::hash_secret(secret.trim());
        self.store
            .password_link(&hash, self.clock.now())
            .await?
            .ok_or(ServiceError::LinkInvalid)
    }

    /// Sets the password of a link's user (typed twice) and uses up the
    /// link; the user whom to sign in. Anyone holding a valid link.
    pub async fn set_password_with_link(
        &self,
        secret: &str,
        password: &str,
        confirm: &str,
    ) -> ServiceResult<Principal> {
        // The link first: a used or expired one says so whatever was typed.
        self.password_link(secret).await?;
        let password =
            domain::parse_confirmed_password(password, confirm).map_err(ServiceError::Invalid)?;
        let password_hash = password::hash(password).await?;
        let hash = password_links::hash_secret(secret.trim());
        let user_id = self
            .store
            .use_password_link(&hash, password_hash, self.clock.now())
            .await?
            .ok_or(ServiceError::LinkInvalid)?;
        self.store
            .principal(user_id)
            .await?
            .ok_or(ServiceError::LinkInvalid)
    }

    /// Adds a vendor user to the caller's org. Vendor admins only.
    pub async fn add_vendor_user(
        &self,
        p: &Principal,
        email: &str,
        password: &str,
        role: &str,
    ) -> ServiceResult<VendorUser> {
        let me = authz::vendor(p, Need::Admin)?;
        let user = NewUser::parse(email, password, role, VendorRole::parse)
            .map_err(ServiceError::Invalid)?;
        let hash = password::hash(user.password).await?;
        Ok(self
            .store
            .create_vendor_user(me.org_id, user.email, hash, user.role)
            .await?)
    }

    /// Changes a vendor user's role; its sessions and tokens end (the store
    /// moves its epoch on and the change hub evicts its tokens). Vendor
    /// admins only; the org keeps an admin. Returns whether the caller
    /// changed its own role (its session must be restarted).
    pub async fn change_vendor_role(
        &self,
        p: &Principal,
        user: UserId,
        role: &str,
    ) -> ServiceResult<bool> {
        let me = authz::vendor(p, Need::Admin)?;
        let role = VendorRole::parse(role).map_err(|e| ServiceError::field("role", e.0))?;
        self.store.set_vendor_role(me.org_id, user, role).await?;
        Ok(user == me.user_id && role != me.role)
    }

    /// Removes a vendor user. Vendor admins only; not yourself, not the
    /// last admin.
    pub async fn remove_vendor_user(&self, p: &Principal, user: UserId) -> ServiceResult<()> {
        let me = authz::vendor(p, Need::Admin)?;
        if user == me.user_id {
            return Err(ServiceError::RemoveSelf);
        }
        Ok(self.store.delete_vendor_user(me.org_id, user).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_end_after_thirty_days_unless_told() {
        let now = Utc::now();
        assert_eq!(
            trial_end(Plan::ProTrial, None, now).unwrap(),
            Some(now + chrono::Duration::days(30))
        );
        assert_eq!(
            trial_end(Plan::ProTrial, Some(now), now).unwrap(),
            Some(now)
        );
        assert!(trial_end(Plan::Pro, Some(now), now).is_err());
        assert_eq!(trial_end(Plan::Community, None, now).unwrap(), None);
    }

    /// The first run's trial is counted from the services' clock.
    #[tokio::test]
    async fn the_first_org_gets_thirty_days_from_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let store = domain::store::SqliteStore::open_file(&dir.path().join("t.db"))
            .await
            .unwrap();
        let mut services = Services::new(std::sync::Arc::new(store), crate::Settings::default());
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-15T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        services.clock = crate::Clock::fixed(at);
        let form = FirstOrg {
            org_name: "Acme",
            slug: "acme",
            email: "a@acme.test",
            password: "admin password 1",
            setup_code: None,
        };
        services.create_first_org(form).await.unwrap();
        let org = services
            .store
            .org_by_slug(&OrgSlug::parse("acme").unwrap())
            .await
            .unwrap();
        assert_eq!(org.plan, Plan::ProTrial);
        assert_eq!(org.trial_ends_at, Some(at + chrono::Duration::days(30)));
        // Only while no organization exists.
        assert!(services.create_first_org(form).await.is_err());
    }
}
