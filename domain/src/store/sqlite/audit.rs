//! The audit trail: written inside each change's transaction, read per customer.

use super::SqliteStore;
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::store::StoreResult;
use crate::{CustomerId, OrgId};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

impl SqliteStore {
    pub(super) async fn audit_events(
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
             WHERE a.org_id = ? AND a.customer_id = ? AND (c.id IS NULL OR a.at >= c.created_at) \
             ORDER BY a.id DESC LIMIT ?",
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
pub(super) struct Change<'a> {
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
    pub async fn record(
        self,
        conn: &mut SqliteConnection,
        org_id: OrgId,
        by: &Actor,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (org_id, customer_id, actor_user_id, actor, action, subject, before, after, at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::fixture::{name, Fixture};
    use crate::CustomerRole;

    #[tokio::test]
    async fn customer_changes_are_audited_with_who_and_before_after() {
        let s = Fixture::new().await;
        let (org, admin) = s.add_org("acme").await;
        let (other, _) = s.add_org("beta").await;
        let by = Actor::user(admin.id, "a@acme.test");
        let c = s
            .create_customer(org.id, name("Globex"), &by)
            .await
            .unwrap();
        s.rename_customer(org.id, c.id, name("Globex Corp"), &by)
            .await
            .unwrap();
        let uid = s
            .add_customer_user(org.id, c.id, "c@globex.test", CustomerRole::Member)
            .await;
        s.delete_customer_user(org.id, c.id, uid, &by)
            .await
            .unwrap();
        // A refused change records nothing.
        assert!(s
            .rename_customer(other.id, c.id, name("X"), &by)
            .await
            .is_err());
        let events = s.audit_events(org.id, c.id, 50).await.unwrap();
        let summary: Vec<_> = events
            .iter()
            .map(|e| (e.action, e.actor.as_str(), e.subject.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (AuditAction::UserRemoved, "a@acme.test", "c@globex.test"),
                (AuditAction::UserAdded, "portcullis admin", "c@globex.test"),
                (AuditAction::CustomerRenamed, "a@acme.test", "Globex Corp"),
                (AuditAction::CustomerCreated, "a@acme.test", "Globex"),
            ]
        );
        assert_eq!(
            events[2].before,
            Some(serde_json::json!({"name": "Globex"}))
        );
        assert_eq!(
            events[2].after,
            Some(serde_json::json!({"name": "Globex Corp"}))
        );
        assert_eq!(
            events[0].before,
            Some(serde_json::json!({"email": "c@globex.test", "role": "member"}))
        );
        assert_eq!(events[0].after, None);
        assert!(s.audit_events(other.id, c.id, 50).await.unwrap().is_empty());
        assert_eq!(s.audit_events(org.id, c.id, 2).await.unwrap().len(), 2);

        // Deleting the customer keeps its history, with what was removed.
        s.delete_customer(org.id, c.id, &by).await.unwrap();
        let events = s.audit_events(org.id, c.id, 50).await.unwrap();
        assert_eq!(events[0].action, AuditAction::CustomerDeleted);
        assert_eq!(
            events[0].before,
            Some(serde_json::json!({"name": "Globex Corp", "users": [], "entitlements": []}))
        );
        // A new customer never gets the deleted one's id, and has its own
        // history only.
        let again = s
            .create_customer(org.id, name("Initech"), &by)
            .await
            .unwrap();
        assert!(again.id > c.id, "ids are never reused");
        let events = s.audit_events(org.id, again.id, 50).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, AuditAction::CustomerCreated);
        assert_eq!(events[0].subject, "Initech");
    }
}
