//! One-time set-password links: a vendor adds a customer user without a
//! password and hands the user `{public_url}/set-password/{secret}`. The
//! secret is 256 random bits; only its sha256 is stored, so a database
//! leak does not hand out working links, and a lookup by hash does not
//! reveal through its timing how much of a guess was right.

use crate::audit::Actor;
use crate::store::{DynStore, StoreResult};
use crate::{CustomerId, CustomerRole, Invitee, OrgId, PasswordSetup, UserId};
use chrono::{DateTime, Duration, Utc};

/// How long a link works (once).
pub const VALID_DAYS: i64 = 7;

/// A fresh secret (64 hex digits) and the hash that is stored.
pub fn new_secret() -> (String, String) {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// The stored form of a secret: hex sha256.
pub fn hash_secret(secret: &str) -> String {
    crate::token_cache::hash_token(secret)
}

/// The path of a link, to put after the public URL.
pub fn path(secret: &str) -> String {
    format!("/set-password/{secret}")
}

/// A link just created: its secret, shown once. Redacted in `Debug`.
pub struct NewLink {
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewLink")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A customer user just added, with its link when it got one.
#[derive(Debug)]
pub struct AddedUser {
    pub user_id: UserId,
    pub link: Option<NewLink>,
}

/// Adds a customer user, with the given first password or with a one-time
/// link (the one path for the console's form and the JSON API).
pub async fn add_customer_user(
    store: &DynStore,
    org_id: OrgId,
    customer_id: CustomerId,
    user: Invitee<CustomerRole>,
    by: &Actor,
) -> StoreResult<AddedUser> {
    match user.setup {
        PasswordSetup::Given(password) => {
            let hash = crate::password::hash(password).await?;
            let user_id = store
                .create_customer_user(org_id, customer_id, user.email, hash, user.role, by)
                .await?;
            Ok(AddedUser {
                user_id,
                link: None,
            })
        }
        PasswordSetup::OneTimeLink => {
            let (secret, hash) = new_secret();
            let expires_at = Utc::now() + Duration::days(VALID_DAYS);
            let user_id = store
                .create_customer_user_with_link(
                    org_id,
                    customer_id,
                    user.email,
                    user.role,
                    (&hash, expires_at),
                    by,
                )
                .await?;
            Ok(AddedUser {
                user_id,
                link: Some(NewLink { secret, expires_at }),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_only_their_hash_is_kept() {
        let (a, ha) = new_secret();
        let (b, _) = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(ha, hash_secret(&a));
        assert_ne!(ha, a);
        assert_eq!(path("ab"), "/set-password/ab");
        let link = NewLink {
            secret: a.clone(),
            expires_at: Utc::now(),
        };
        assert!(!format!("{link:?}").contains(&a));
    }
}
