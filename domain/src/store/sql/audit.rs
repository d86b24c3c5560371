//! The audit trail: written inside each change's transaction, read per customer.

use super::{Conn, SqlStore};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::store::StoreResult;
use crate::{CustomerId, OrgId};
use chrono::{DateTime, Utc};

impl SqlStore {
    pub(in crate::store) async fn audit_events(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        type Row = (
            i64,
            DateTime<Utc>,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            // SQLite may give a new customer the id of a deleted one: while
            // a customer exists, only events since it was created are its own.
            "SELECT a.id, a.at, a.actor, a.action, a.subject, a.before, a.after FROM audit_events a \
             LEFT JOIN customers c ON c.id = a.customer_id AND c.org_id = a.org_id \
             WHERE a.org_id = $1 AND a.customer_id = $2 AND (c.id IS NULL OR a.at >= c.created_at) \
             ORDER BY a.id DESC LIMIT $3",
        )
        .bind(org_id)
        .bind(customer_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let json = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
        Ok(rows
            .into_iter()
            .filter_map(|(id, at, actor, action, subject, before, after)| {
                Some(AuditEvent {
                    id,
                    at,
                    actor,
                    action: AuditAction::parse(&action)?,
                    subject,
                    before: json(before),
                    after: json(after),
                })
            })
            .collect())
    }
}

/// One change for the audit trail: `action` on `subject` about a customer,
/// with what was before and after (JSON), recorded by [`Change::record`].
pub(in crate::store) struct Change<'a> {
    customer_id: CustomerId,
    action: AuditAction,
    subject: &'a str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

impl<'a> Change<'a> {
    pub fn new(customer_id: CustomerId, action: AuditAction, subject: &'a str) -> Self {
        Change {
            customer_id,
            action,
            subject,
            before: None,
            after: None,
        }
    }

    pub fn before(self, state: impl Into<Option<serde_json::Value>>) -> Self {
        Change {
            before: state.into(),
            ..self
        }
    }

    pub fn after(self, state: serde_json::Value) -> Self {
        Change {
            after: Some(state),
            ..self
        }
    }

    /// Appends to the audit trail, inside the change's own transaction.
    pub async fn record(self, conn: &mut Conn, org_id: OrgId, by: &Actor) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (org_id, customer_id, actor_user_id, actor, action, subject, before, after, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(org_id)
        .bind(self.customer_id)
        .bind(by.user_id)
        .bind(&by.email)
        .bind(self.action.as_str())
        .bind(self.subject)
        .bind(self.before.map(|v| v.to_string()))
        .bind(self.after.map(|v| v.to_string()))
        .bind(Utc::now())
        .execute(conn)
        .await?;
        Ok(())
    }
}
