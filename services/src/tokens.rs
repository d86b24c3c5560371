//! Access tokens: the registry password of a user, and `Authorization:
//! Bearer` for `/api/v1`. Created from the console or portal (a session),
//! from the API (a session or a token), and by the operator's CLI.

use crate::error::{FieldCheck, ServiceError, ServiceResult};
use crate::Services;
use chrono::{DateTime, Utc};
use domain::registry::{CreatedToken, TokenInfo};
use domain::{DisplayName, Email, Principal, TokenId};

/// Who asks for a new token.
#[derive(Debug, Clone, Copy)]
pub enum Issuer<'a> {
    /// A signed-in user, for itself.
    User(&'a Principal),
    /// A request authenticated with token `id`: the new token is the same
    /// user's, expires no later than it and is revoked with it.
    Token { id: TokenId },
    /// The operator on the server's host (`portcullis admin create-token`),
    /// for the user with this email.
    Operator { email: &'a Email },
}

impl Services {
    /// Creates an access token: `label` names it (1–100 characters),
    /// `expires_at` (if any) must be in the future. The secret is returned
    /// only now; the store keeps its hash.
    pub async fn create_token(
        &self,
        issuer: Issuer<'_>,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> ServiceResult<CreatedToken> {
        let mut check = FieldCheck::default();
        let label = check.field("label", DisplayName::parse(label));
        if expires_at.is_some_and(|e| e <= self.clock.now()) {
            check.fail("expires_at", "The expiry must be in the future.");
        }
        let label = check.ok(label)?;
        let (secret, hash) = domain::token_cache::new_token();
        let store = &self.store;
        let token = match issuer {
            Issuer::User(p) => {
                store
                    .create_token(p.user_id(), label.as_str(), &hash, expires_at)
                    .await?
            }
            Issuer::Token { id } => store
                .create_child_token(id, label.as_str(), &hash, expires_at)
                .await?
                .ok_or(ServiceError::Unauthenticated)?,
            Issuer::Operator { email } => {
                let user = store
                    .user_id_by_email(email.as_str())
                    .await?
                    .ok_or(ServiceError::NotFound)?;
                store
                    .create_token(user, label.as_str(), &hash, expires_at)
                    .await?
            }
        };
        Ok(CreatedToken { token, secret })
    }

    /// The caller's own tokens.
    pub async fn tokens(&self, p: &Principal) -> ServiceResult<Vec<TokenInfo>> {
        Ok(self.store.tokens(p.user_id()).await?)
    }

    /// Revokes one of the caller's tokens and those made with it: refused
    /// by the registry and the API from the next request on (the change
    /// hub evicts them from memory before this returns).
    pub async fn revoke_token(&self, p: &Principal, token_id: TokenId) -> ServiceResult<()> {
        self.store
            .revoke_token(p.user_id(), token_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(())
    }
}
