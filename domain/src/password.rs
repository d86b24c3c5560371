//! Password hashing with argon2id, off the async runtime.

use crate::NewPassword;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

/// Hashes a password with argon2id (the crate's recommended parameters) in
/// `spawn_blocking`. Returns the PHC string.
pub async fn hash(password: NewPassword) -> String {
    tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
        .await
        .expect("password hashing task panicked")
}

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

/// A hash of a random password, verified against when the user does not
/// exist so that "unknown email" and "wrong password" take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        use rand::Rng;
        let random: String = rand::thread_rng()
            .sample_iter(&rand::distributions::Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        hash_blocking(&random)
    })
}

/// The stored "hash" of a user who has no password yet (added with a
/// one-time set-password link). It is not a PHC string, so nothing ever
/// verifies against it.
pub const UNUSABLE: &str = "!unset";

/// Whether `stored` is a real password hash (not [`UNUSABLE`]).
pub fn is_usable(stored: &str) -> bool {
    stored.starts_with('$')
}

/// Verifies `password` against `stored` (or against a dummy hash when there
/// is no such user or it has no usable password, always answering `false`
/// then, in the same time).
pub async fn verify(stored: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.filter(|s| is_usable(s));
        let exists = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        exists && ok
    })
    .await
    .expect("password verification task panicked")
}

/// Warms the dummy hash so the first unknown-email sign-in is not slower.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_is_argon2id_and_verifies() {
        let h = hash(NewPassword::parse("correct horse battery").unwrap()).await;
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify(Some(h.clone()), "correct horse battery".into()).await);
        assert!(!verify(Some(h), "wrong horse battery".into()).await);
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(!verify(None, "anything".into()).await);
        assert!(!verify(Some("not a phc string".into()), "x".into()).await);
        assert!(!verify(Some(UNUSABLE.into()), UNUSABLE.into()).await);
        assert!(!verify(Some(UNUSABLE.into()), String::new()).await);
    }
}
