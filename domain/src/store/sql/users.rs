//! Users: sign-in credentials, principals and session epochs, vendor users
//! and their roles.

use super::{unique_or, Conn, Db, SqlStore};
use crate::changes::ChangeKind;
use crate::store::{Credentials, LastAdminChange, StoreError, StoreResult};
use crate::{CustomerId, CustomerRole, Email, OrgId, Principal, UserId, VendorRole, VendorUser};
use chrono::{DateTime, Utc};
use sqlx::Transaction;

impl SqlStore {
    /// A user as the principal it acts as; with `epoch`, only while the
    /// user's session epoch is still that one (a session's user).
    async fn load_principal(
        &self,
        user_id: UserId,
        epoch: Option<i64>,
    ) -> StoreResult<Option<Principal>> {
        let row: Option<PrincipalRow> = sqlx::query_as(
            "SELECT u.id AS user_id, u.email, u.role, o.id AS org_id, o.slug AS org_slug, \
                    o.name AS org_name, c.id AS customer_id, c.name AS customer_name \
             FROM users u JOIN orgs o ON o.id = u.org_id \
             LEFT JOIN customers c ON c.id = u.customer_id \
             WHERE u.id = $1 AND ($2 IS NULL OR u.session_epoch = $2)",
        )
        .bind(user_id)
        .bind(epoch)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let bad = StoreError::internal;
        Ok(Some(match (r.customer_id, r.customer_name) {
            (Some(customer_id), Some(customer_name)) => Principal::Customer {
                user_id: r.user_id,
                email: r.email,
                role: CustomerRole::parse(&r.role).map_err(bad)?,
                org_id: r.org_id,
                org_slug: r.org_slug,
                org_name: r.org_name,
                customer_id,
                customer_name,
            },
            _ => Principal::Vendor {
                user_id: r.user_id,
                email: r.email,
                role: VendorRole::parse(&r.role).map_err(bad)?,
                org_id: r.org_id,
                org_slug: r.org_slug,
                org_name: r.org_name,
            },
        }))
    }
}

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    user_id: UserId,
    email: String,
    role: String,
    org_id: OrgId,
    org_slug: String,
    org_name: String,
    customer_id: Option<CustomerId>,
    customer_name: Option<String>,
}

const VENDOR_USER_COLUMNS: &str = "id, email, role, created_at";

/// Inserts a vendor user: org, email, password hash, role.
pub(super) async fn insert_vendor_user(
    conn: &mut Conn,
    (org_id, email, password_hash, role): (OrgId, &Email, &str, VendorRole),
    created_at: DateTime<Utc>,
) -> StoreResult<VendorUser> {
    sqlx::query_as(&format!(
        "INSERT INTO users (org_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {VENDOR_USER_COLUMNS}"
    ))
    .bind(org_id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(role.as_str())
    .bind(created_at)
    .fetch_one(conn)
    .await
    .map_err(|e| unique_or(e, StoreError::EmailTaken))
}

async fn admin_count(tx: &mut Transaction<'_, Db>, org_id: OrgId) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE org_id = $1 AND customer_id IS NULL AND role = 'admin'",
    )
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await?)
}

async fn vendor_user_in_tx(
    tx: &mut Transaction<'_, Db>,
    org_id: OrgId,
    user_id: UserId,
) -> StoreResult<VendorUser> {
    let user: Option<VendorUser> = sqlx::query_as(&format!(
        "SELECT {VENDOR_USER_COLUMNS} FROM users WHERE id = $1 AND org_id = $2 AND customer_id IS NULL"
    ))
    .bind(user_id)
    .bind(org_id)
    .fetch_optional(&mut **tx)
    .await?;
    user.ok_or(StoreError::NotFound)
}

/// Ends every session of `user` (role or password changed): sessions
/// holding the old epoch no longer sign anyone in, and their rows go.
pub(in crate::store) async fn end_sessions(
    tx: &mut Transaction<'_, Db>,
    user_id: UserId,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl SqlStore {
    pub(in crate::store) async fn credentials(
        &self,
        email: &Email,
    ) -> StoreResult<Option<Credentials>> {
        let row: Option<(UserId, String, i64)> =
            sqlx::query_as("SELECT id, password_hash, session_epoch FROM users WHERE email = $1")
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(
            row.map(|(user_id, password_hash, session_epoch)| Credentials {
                user_id,
                password_hash,
                session_epoch,
            }),
        )
    }

    pub(in crate::store) async fn principal(
        &self,
        user_id: UserId,
    ) -> StoreResult<Option<Principal>> {
        self.load_principal(user_id, None).await
    }

    pub(in crate::store) async fn session_principal(
        &self,
        user_id: UserId,
        epoch: i64,
    ) -> StoreResult<Option<Principal>> {
        self.load_principal(user_id, Some(epoch)).await
    }

    pub(in crate::store) async fn session_epoch(
        &self,
        user_id: UserId,
    ) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT session_epoch FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub(in crate::store) async fn vendor_users(
        &self,
        org_id: OrgId,
    ) -> StoreResult<Vec<VendorUser>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {VENDOR_USER_COLUMNS} FROM users WHERE org_id = $1 AND customer_id IS NULL ORDER BY email"
        ))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub(in crate::store) async fn create_vendor_user(
        &self,
        org_id: OrgId,
        email: Email,
        password_hash: String,
        role: VendorRole,
    ) -> StoreResult<VendorUser> {
        let mut conn = self.pool.acquire().await?;
        let user = (org_id, &email, password_hash.as_str(), role);
        insert_vendor_user(&mut conn, user, Utc::now()).await
    }

    pub(in crate::store) async fn set_vendor_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: VendorRole,
    ) -> StoreResult<VendorUser> {
        let mut tx = self.begin_write().await?;
        SqlStore::lock_org(&mut tx, org_id).await?;
        let user = vendor_user_in_tx(&mut tx, org_id, user_id).await?;
        if user.role == VendorRole::Admin
            && role != VendorRole::Admin
            && admin_count(&mut tx, org_id).await? <= 1
        {
            return Err(StoreError::LastAdmin(LastAdminChange::Demoted));
        }
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if role != user.role {
            end_sessions(&mut tx, user_id).await?;
        }
        self.commit_change(tx, org_id, (None, Some(user_id)), ChangeKind::UserChanged)
            .await?;
        Ok(VendorUser { role, ..user })
    }

    pub(in crate::store) async fn delete_vendor_user(
        &self,
        org_id: OrgId,
        user_id: UserId,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        SqlStore::lock_org(&mut tx, org_id).await?;
        let user = vendor_user_in_tx(&mut tx, org_id, user_id).await?;
        if user.role == VendorRole::Admin && admin_count(&mut tx, org_id).await? <= 1 {
            return Err(StoreError::LastAdmin(LastAdminChange::Removed));
        }
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        self.commit_change(tx, org_id, (None, Some(user_id)), ChangeKind::UserChanged)
            .await?;
        Ok(())
    }
}
