//! Customers and their users.

use super::audit::Change;
use super::{text, unique_or, Conn, Db, SqlStore};
use crate::audit::{Actor, AuditAction};
use crate::changes::ChangeKind;
use crate::paging::{contains_pattern, CustomerQuery, Page};
use crate::store::{StoreError, StoreResult};
use crate::{
    Customer, CustomerId, CustomerRole, CustomerSummary, CustomerUser, DisplayName, Email, OrgId,
    UserId,
};
use chrono::{DateTime, Utc};
use sqlx::Transaction;

impl SqlStore {
    pub(in crate::store) async fn create_customer(
        &self,
        org_id: OrgId,
        name: DisplayName,
        by: &Actor,
    ) -> StoreResult<Customer> {
        let mut tx = self.begin_write().await?;
        let row: (CustomerId, DateTime<Utc>) = sqlx::query_as(
            "INSERT INTO customers (org_id, name, created_at) VALUES ($1, $2, $3) RETURNING id, created_at",
        )
        .bind(org_id)
        .bind(name.as_str())
        .bind(Utc::now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_or(e, StoreError::CustomerNameTaken))?;
        Change::new(row.0, AuditAction::CustomerCreated, name.as_str())
            .after(serde_json::json!({ "name": name.as_str() }))
            .record(&mut tx, org_id, by)
            .await?;
        tx.commit().await?;
        Ok(Customer {
            id: row.0,
            org_id,
            name: name.as_str().to_owned(),
            created_at: row.1,
        })
    }

    pub(in crate::store) async fn create_customer_user(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        email: Email,
        password_hash: String,
        role: CustomerRole,
        by: &Actor,
    ) -> StoreResult<UserId> {
        let user = NewCustomerUserRow {
            customer_id,
            email: &email,
            password_hash: &password_hash,
            role,
        };
        let (tx, id) = self.begin_adding_customer_user(org_id, by, user).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A change that adds a customer's user: the transaction, the user
    /// inserted in it, and its id.
    pub(super) async fn begin_adding_customer_user(
        &self,
        org_id: OrgId,
        by: &Actor,
        user: NewCustomerUserRow<'_>,
    ) -> StoreResult<(Transaction<'_, Db>, UserId)> {
        let mut tx = self.begin_write().await?;
        let id = insert_customer_user(&mut tx, org_id, by, user).await?;
        Ok((tx, id))
    }

    pub(in crate::store) async fn customers(
        &self,
        org_id: OrgId,
        query: &CustomerQuery,
    ) -> StoreResult<Page<CustomerSummary>> {
        // The page first (keyset: after the cursor's name, by lower-cased
        // name then name, which is unique in the org; read from the cursor
        // on along the index customers_by_name), then the user counts of its
        // rows only.
        let after = if query.after.is_some() {
            "AND lower(name) >= lower($3) AND (lower(name), name) > (lower($3), $3)"
        } else {
            "AND $3 IS NULL"
        };
        type Row = (
            CustomerId,
            String,
            DateTime<Utc>,
            i64,
            Option<DateTime<Utc>>,
        );
        let now = Utc::now();
        let ending_before = query
            .ending_within_days
            .map(|days| now + chrono::Duration::days(days.clamp(0, 36_500)));
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT c.id, c.name, c.created_at, (SELECT COUNT(*) FROM users u WHERE u.customer_id = c.id), \
                    (SELECT MIN(e.expires_at) FROM entitlements e WHERE e.customer_id = c.id AND e.expires_at > $5) \
             FROM (SELECT id, name, created_at FROM customers \
                   WHERE org_id = $1 AND lower(name) LIKE $2 ESCAPE '\\' {after} \
                   AND ($6 IS NULL OR EXISTS (SELECT 1 FROM entitlements e \
                        WHERE e.customer_id = customers.id AND e.expires_at > $5 AND e.expires_at <= $6)) \
                   ORDER BY lower(name), name LIMIT $4) c \
             ORDER BY lower(c.name), c.name"
        ))
        .bind(org_id)
        .bind(text(&contains_pattern(&query.search)).into_owned())
        .bind(query.after.as_deref().map(text))
        .bind(query.limit.saturating_add(1))
        .bind(now)
        .bind(ending_before)
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .into_iter()
            .map(
                |(id, name, created_at, user_count, next_expiry)| CustomerSummary {
                    id,
                    name,
                    created_at,
                    user_count,
                    next_expiry,
                },
            )
            .collect();
        Ok(Page::from_rows(rows, query.limit, |c| c.name.clone()))
    }

    pub(in crate::store) async fn customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
    ) -> StoreResult<Customer> {
        let (name, created_at): (String, DateTime<Utc>) =
            sqlx::query_as("SELECT name, created_at FROM customers WHERE id = $1 AND org_id = $2")
                .bind(id)
                .bind(org_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(Customer {
            id,
            org_id,
            name,
            created_at,
        })
    }

    pub(in crate::store) async fn rename_customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
        name: DisplayName,
        by: &Actor,
    ) -> StoreResult<Customer> {
        let mut tx = self.begin_write().await?;
        let old = customer_name(&mut tx, org_id, id).await?;
        let created_at: DateTime<Utc> = sqlx::query_scalar(
            "UPDATE customers SET name = $1 WHERE id = $2 AND org_id = $3 RETURNING created_at",
        )
        .bind(name.as_str())
        .bind(id)
        .bind(org_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_or(e, StoreError::CustomerNameTaken))?;
        if old != name.as_str() {
            Change::new(id, AuditAction::CustomerRenamed, name.as_str())
                .before(serde_json::json!({ "name": old }))
                .after(serde_json::json!({ "name": name.as_str() }))
                .record(&mut tx, org_id, by)
                .await?;
        }
        tx.commit().await?;
        Ok(Customer {
            id,
            org_id,
            name: name.as_str().to_owned(),
            created_at,
        })
    }

    pub(in crate::store) async fn delete_customer(
        &self,
        org_id: OrgId,
        id: CustomerId,
        by: &Actor,
    ) -> StoreResult<Vec<UserId>> {
        let mut tx = self.begin_write().await?;
        let name = customer_name(&mut tx, org_id, id).await?;
        let users: Vec<(UserId, String)> = sqlx::query_as(
            "SELECT u.id, u.email FROM users u JOIN customers c ON c.id = u.customer_id WHERE c.id = $1 AND c.org_id = $2 ORDER BY u.email",
        )
        .bind(id)
        .bind(org_id)
        .fetch_all(&mut *tx)
        .await?;
        let entitlements: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM entitlements WHERE customer_id = $1 ORDER BY lower(name)",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        Change::new(id, AuditAction::CustomerDeleted, &name)
            .before(serde_json::json!({
                "name": name,
                "users": users.iter().map(|(_, email)| email).collect::<Vec<_>>(),
                "entitlements": entitlements,
            }))
            .record(&mut tx, org_id, by)
            .await?;
        let users = users.into_iter().map(|(id, _)| id).collect();
        let deleted = sqlx::query("DELETE FROM customers WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.commit_change(tx, org_id, (Some(id), None), ChangeKind::CustomerRemoved)
            .await?;
        Ok(users)
    }

    pub(in crate::store) async fn customer_users(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
    ) -> StoreResult<Vec<CustomerUser>> {
        let rows: Vec<(UserId, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT u.id, u.email, u.role, u.created_at FROM users u JOIN customers c ON c.id = u.customer_id \
             WHERE c.id = $1 AND c.org_id = $2 ORDER BY u.email",
        )
        .bind(customer_id)
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, email, role, created_at)| {
                Ok(CustomerUser {
                    id,
                    email,
                    role: CustomerRole::parse(&role).map_err(StoreError::internal)?,
                    created_at,
                })
            })
            .collect()
    }

    pub(in crate::store) async fn delete_customer_user(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        user_id: UserId,
        by: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let removed: Option<(String, String)> = sqlx::query_as(
            "DELETE FROM users WHERE id = $1 AND customer_id = $2 AND customer_id IN (SELECT id FROM customers WHERE org_id = $3) RETURNING email, role",
        )
        .bind(user_id)
        .bind(customer_id)
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, role)) = removed else {
            return Err(StoreError::NotFound);
        };
        Change::new(customer_id, AuditAction::UserRemoved, &email)
            .before(serde_json::json!({ "email": email, "role": role }))
            .record(&mut tx, org_id, by)
            .await?;
        self.commit_change(
            tx,
            org_id,
            (Some(customer_id), Some(user_id)),
            ChangeKind::UserChanged,
        )
        .await?;
        Ok(())
    }
}

/// The name of one of the org's customers.
async fn customer_name(conn: &mut Conn, org_id: OrgId, id: CustomerId) -> StoreResult<String> {
    Ok(
        sqlx::query_scalar("SELECT name FROM customers WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_one(conn)
            .await?,
    )
}

/// A customer user to insert.
pub(in crate::store) struct NewCustomerUserRow<'a> {
    pub customer_id: CustomerId,
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub role: CustomerRole,
}

/// Adds a user to one of the org's customers, with its audit event, inside
/// the caller's transaction.
async fn insert_customer_user(
    conn: &mut Conn,
    org_id: OrgId,
    by: &Actor,
    user: NewCustomerUserRow<'_>,
) -> StoreResult<UserId> {
    let owned: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1 AND org_id = $2)")
            .bind(user.customer_id)
            .bind(org_id)
            .fetch_one(&mut *conn)
            .await?;
    if !owned {
        return Err(StoreError::NotFound);
    }
    let id: UserId = sqlx::query_scalar(
        "INSERT INTO users (org_id, customer_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(org_id)
    .bind(user.customer_id)
    .bind(user.email.as_str())
    .bind(user.password_hash)
    .bind(user.role.as_str())
    .bind(Utc::now())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_or(e, StoreError::EmailTaken))?;
    Change::new(
        user.customer_id,
        AuditAction::UserAdded,
        user.email.as_str(),
    )
    .after(serde_json::json!({ "email": user.email.as_str(), "role": user.role.as_str() }))
    .record(conn, org_id, by)
    .await?;
    Ok(id)
}
