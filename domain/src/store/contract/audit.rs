//! Contract tests: audit (run on SQLite and on PostgreSQL; see `mod.rs`).

use super::prelude::*;
pub(super) async fn customer_changes_are_audited_with_who_and_before_after(s: Fixture) {
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
