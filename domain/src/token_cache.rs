//! Access-token checks from memory: keyed by the token's sha256, so a
//! registry request costs no password hash and no database write. Last-use
//! times are collected here and written in batches by the server. Revoking a
//! token, removing a user or changing a role evicts entries at once.

use crate::{Principal, TokenId, UserId};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// The prefix of every Portcullis access token.
pub const TOKEN_PREFIX: &str = "pcl_";

/// A new random token secret (256 bits) and its hash.
pub fn new_token() -> (String, String) {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = hash_token(&secret);
    (secret, hash)
}

/// The stored form of a token: hex sha256 (tokens are random, so a fast
/// hash is enough).
pub fn hash_token(secret: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

#[derive(Debug, Clone)]
pub struct CachedToken {
    pub token_id: TokenId,
    pub expires_at: Option<DateTime<Utc>>,
    pub principal: Principal,
}

#[derive(Debug, Default)]
pub struct TokenCache {
    entries: RwLock<HashMap<String, Arc<CachedToken>>>,
    /// Bumped on every eviction, so an entry read from the database before
    /// a concurrent revocation is not cached after it.
    generation: std::sync::atomic::AtomicU64,
    uses: Mutex<HashMap<TokenId, DateTime<Utc>>>,
}

impl TokenCache {
    pub fn get(&self, hash: &str) -> Option<Arc<CachedToken>> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    /// The eviction generation; read it before loading an entry from the
    /// database and pass it to [`TokenCache::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Caches `token` unless an eviction happened since `generation`.
    pub fn insert(&self, generation: u64, hash: String, token: CachedToken) -> Arc<CachedToken> {
        let token = Arc::new(token);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() == generation {
            entries.insert(hash, token.clone());
        }
        token
    }

    fn bump(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub fn remove(&self, hash: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.bump();
        entries.remove(hash);
    }

    /// Evicts every token of `user` (removed, role changed).
    pub fn invalidate_user(&self, user: UserId) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.bump();
        entries.retain(|_, t| t.principal.user_id() != user);
    }

    /// Evicts every token of the customer's users (customer deleted).
    pub fn invalidate_customer(&self, customer: crate::CustomerId) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.bump();
        entries.retain(|_, t| {
            !matches!(t.principal, Principal::Customer { customer_id, .. } if customer_id == customer)
        });
    }

    /// Evicts everything (e.g. an organization-wide change).
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.bump();
        entries.clear();
    }

    pub fn record_use(&self, token_id: TokenId, at: DateTime<Utc>) {
        self.uses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token_id, at);
    }

    /// The last-use times collected since the previous call.
    pub fn take_uses(&self) -> Vec<(TokenId, DateTime<Utc>)> {
        std::mem::take(&mut *self.uses.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OrgId, VendorRole};

    fn principal(user_id: UserId) -> Principal {
        Principal::Vendor {
            user_id,
            email: "a@acme.test".into(),
            role: VendorRole::Admin,
            org_id: OrgId::from(1),
            org_slug: "acme".into(),
            org_name: "Acme".into(),
        }
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 4 + 64);
        assert_eq!(hash_token(&a), ha);
        assert_ne!(ha, a);
    }

    #[test]
    fn cache_evicts_by_hash_and_user() {
        let c = TokenCache::default();
        let entry = |id: i64, user: i64| CachedToken {
            token_id: TokenId::from(id),
            expires_at: None,
            principal: principal(UserId::from(user)),
        };
        let g = c.generation();
        c.insert(g, "h1".into(), entry(1, 10));
        c.insert(g, "h2".into(), entry(2, 10));
        c.insert(g, "h3".into(), entry(3, 11));
        c.remove("h1");
        assert!(c.get("h1").is_none());
        c.invalidate_user(UserId::from(10));
        assert!(c.get("h2").is_none());
        assert_eq!(c.get("h3").unwrap().token_id, TokenId::from(3));
        // An entry loaded before an eviction is not cached after it.
        c.insert(g, "h4".into(), entry(4, 12));
        assert!(c.get("h4").is_none());
        c.record_use(TokenId::from(3), Utc::now());
        c.record_use(TokenId::from(3), Utc::now());
        assert_eq!(c.take_uses().len(), 1);
        assert!(c.take_uses().is_empty());
    }
}
