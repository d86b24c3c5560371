//! Contract tests: the change feed (run on SQLite and on PostgreSQL).

use super::prelude::*;
use crate::changes::ChangeKind;

pub(super) async fn writes_append_to_the_feed_in_commit_order(s: Fixture) {
    assert_eq!(s.last_change_id().await.unwrap(), 0);
    let (org, admin) = s.add_org("acme").await;
    let c = s.add_customer(org.id, "Globex").await;
    s.set_plan(&OrgSlug::parse("acme").unwrap(), Plan::Pro, None)
        .await
        .unwrap();
    let rw = s
        .add_vendor_user(org.id, "rw@acme.test", VendorRole::ReadWrite)
        .await;
    s.set_vendor_role(org.id, rw.id, VendorRole::ReadOnly)
        .await
        .unwrap();
    s.delete_customer(org.id, c.id, &Actor::user(admin.id, "admin@acme.test"))
        .await
        .unwrap();
    let all = s.changes_since(0, 100).await.unwrap();
    let kinds: Vec<_> = all.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::Plan,
            ChangeKind::UserChanged,
            ChangeKind::CustomerRemoved
        ]
    );
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(all[1].user_id, Some(rw.id));
    assert_eq!(all[2].customer_id, Some(c.id));
    assert_eq!(s.last_change_id().await.unwrap(), all[2].id);
    assert_eq!(
        s.changes_since(all[0].id, 1).await.unwrap()[0].id,
        all[1].id
    );
    let after = s.org_changes_after(org.id, 0, 10).await.unwrap();
    assert_eq!(after.len(), 3);
    let after_first = s.org_changes_after(org.id, all[0].id, 10).await.unwrap();
    assert_eq!(after_first.len(), 2);
    assert_eq!(after_first[0].id, all[1].id);
    assert!(s
        .org_changes_after(org.id, all[2].id, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .org_changes_after(OrgId::from(org.id.get() + 1), 0, 10)
        .await
        .unwrap()
        .is_empty());
}

pub(super) async fn readers_report_how_far_they_applied(s: Fixture) {
    let (org, _) = s.add_org("acme").await;
    let slug = OrgSlug::parse("acme").unwrap();
    let long_ago = Utc::now() - Duration::minutes(1);
    assert!(s.all_applied(1, long_ago).await.unwrap(), "no readers");
    s.report_applied("a", Some(0)).await.unwrap();
    s.report_applied("b", Some(0)).await.unwrap();
    s.set_plan(&slug, Plan::Pro, None).await.unwrap();
    let id = s.last_change_id().await.unwrap();
    assert!(!s.all_applied(id, long_ago).await.unwrap());
    s.report_applied("a", Some(id)).await.unwrap();
    assert!(!s.all_applied(id, long_ago).await.unwrap(), "b is behind");
    s.report_applied("b", Some(id)).await.unwrap();
    assert!(s.all_applied(id, long_ago).await.unwrap());
    // A reader not seen since `alive_since` is not waited for; one that
    // stopped is gone.
    s.report_applied("a", Some(0)).await.unwrap();
    assert!(!s.all_applied(id, long_ago).await.unwrap());
    assert!(s
        .all_applied(id, Utc::now() + Duration::minutes(1))
        .await
        .unwrap());
    s.report_applied("a", None).await.unwrap();
    assert!(s.all_applied(id, long_ago).await.unwrap());
    let _ = org;
}

/// Many writers at once: whenever a reader has seen id n, it has seen every
/// change below n that will ever exist (a reader never skips one that
/// commits late).
pub(super) async fn concurrent_writers_never_leave_a_gap_behind_a_reader(s: Fixture) {
    let (org, _) = s.add_org("acme").await;
    let slug = OrgSlug::parse("acme").unwrap();
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = s.store();
            let slug = slug.clone();
            tokio::spawn(async move {
                for j in 0..10 {
                    let plan = if (i + j) % 2 == 0 {
                        Plan::Pro
                    } else {
                        Plan::Community
                    };
                    store.set_plan(&slug, plan, None).await.unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let store = s.store();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last = 0;
            while seen.len() < 80 {
                for c in store.changes_since(last, 1000).await.unwrap() {
                    last = c.id;
                    seen.push(c.id);
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    for w in writers {
        w.await.unwrap();
    }
    let seen = tokio::time::timeout(std::time::Duration::from_secs(60), reader)
        .await
        .expect("the reader saw all 80 changes")
        .unwrap();
    let all: Vec<i64> = s
        .changes_since(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(seen, all, "the reader saw every change, in order");
    let _ = org;
}
