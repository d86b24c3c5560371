//! One-time set-password links (migration `0005_password_links.sql`).

use super::customers::NewCustomerUserRow;
use super::SqlStore;
use crate::audit::Actor;
use crate::store::{PasswordLinkUser, StoreResult};
use crate::{CustomerId, CustomerRole, Email, OrgId, UserId};
use chrono::{DateTime, Utc};

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    user_id: UserId,
    email: String,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl LinkRow {
    /// Unused and unexpired. (Compared here, not in SQL, so the timestamp
    /// text format never matters.)
    fn valid_at(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && self.expires_at > now
    }
}

const LINK_BY_HASH: &str = "SELECT l.id, l.user_id, u.email, l.expires_at, l.used_at \
     FROM password_links l JOIN users u ON u.id = l.user_id WHERE l.secret_hash = $1";

impl SqlStore {
    pub(in crate::store) async fn create_customer_user_with_link(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        email: Email,
        role: CustomerRole,
        (secret_hash, expires_at): (&str, DateTime<Utc>),
        by: &Actor,
    ) -> StoreResult<UserId> {
        let user = NewCustomerUserRow {
            customer_id,
            email: &email,
            password_hash: crate::password::UNUSABLE,
            role,
        };
        let (mut tx, id) = self.begin_adding_customer_user(org_id, by, user).await?;
        sqlx::query(
            "INSERT INTO password_links (user_id, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(secret_hash)
        .bind(Utc::now())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(in crate::store) async fn password_link(
        &self,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PasswordLinkUser>> {
        let row: Option<LinkRow> = sqlx::query_as(LINK_BY_HASH)
            .bind(secret_hash)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.filter(|l| l.valid_at(now)).map(|l| PasswordLinkUser {
            user_id: l.user_id,
            email: l.email,
            expires_at: l.expires_at,
        }))
    }

    pub(in crate::store) async fn use_password_link(
        &self,
        secret_hash: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>> {
        // The write lock up front: the check and the use are one step.
        let mut tx = self.begin_write().await?;
        let row: Option<LinkRow> = sqlx::query_as(LINK_BY_HASH)
            .bind(secret_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(LinkRow {
            id: link_id,
            user_id,
            ..
        }) = row.filter(|l| l.valid_at(now))
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        // `used_at IS NULL` again, to be sure a link is used at most once.
        let marked =
            sqlx::query("UPDATE password_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(link_id)
                .execute(&mut *tx)
                .await?;
        if marked.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(&password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // A new password ends the sessions begun with the old one.
        super::users::end_sessions(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}
