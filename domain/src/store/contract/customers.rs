//! Contract tests: customers (run on SQLite and on PostgreSQL; see `mod.rs`).

use super::prelude::*;
pub(super) async fn customers_are_scoped_searchable_and_deleted_with_their_users(s: Fixture) {
    let by = Actor::operator();
    let (a, _) = s.add_org("acme").await;
    let (b, _) = s.add_org("beta").await;
    let globex = s.add_customer(a.id, "Globex").await;
    s.add_customer(a.id, "Initech 100%").await;
    let other = s.add_customer(b.id, "Globex").await;
    let uid = s
        .add_customer_user(a.id, globex.id, "c@globex.test", CustomerRole::Admin)
        .await;
    let search = |q: &str| CustomerQuery {
        search: q.into(),
        ..CustomerQuery::default()
    };
    let names = |v: Vec<CustomerSummary>| {
        v.into_iter()
            .map(|c| (c.name, c.user_count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(s.customers(a.id, &search("")).await.unwrap().items),
        vec![("Globex".into(), 1), ("Initech 100%".into(), 0)]
    );
    assert_eq!(
        names(s.customers(a.id, &search("GLOB")).await.unwrap().items),
        vec![("Globex".into(), 1)]
    );
    assert_eq!(
        names(s.customers(a.id, &search("100%")).await.unwrap().items),
        vec![("Initech 100%".into(), 0)]
    );
    assert!(
        s.customers(a.id, &search("_"))
            .await
            .unwrap()
            .items
            .is_empty(),
        "LIKE wildcards are escaped"
    );
    // Another org's customer is not found, for every operation.
    assert!(matches!(
        s.customer(a.id, other.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.rename_customer(a.id, other.id, name("X"), &by).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_customer(a.id, other.id, &by).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_customer_user(b.id, globex.id, uid, &by).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.rename_customer(a.id, globex.id, name("Initech 100%"), &by)
            .await,
        Err(StoreError::CustomerNameTaken)
    ));
    assert_eq!(
        s.customer_users(a.id, globex.id).await.unwrap()[0].email,
        "c@globex.test"
    );
    assert_eq!(
        s.delete_customer(a.id, globex.id, &by).await.unwrap(),
        vec![uid]
    );
    assert!(
        s.principal(uid).await.unwrap().is_none(),
        "its users are gone"
    );
    assert_eq!(s.customers(b.id, &search("")).await.unwrap().items.len(), 1);
}

pub(super) async fn customers_filter_by_an_entitlement_ending_soon(s: Fixture) {
    let (a, _) = s.add_org("acme").await;
    let now = Utc::now().trunc_subsecs(6);
    let days = |d: i64| Some(now + chrono::Duration::days(d));
    for (customer, ends) in [
        ("Soon", vec![days(3), None]),
        ("Later", vec![days(45)]),
        ("Ended", vec![days(-2)]),
        ("Forever", vec![None]),
        ("Edge", vec![days(29), days(60)]),
    ] {
        let c = s.add_customer(a.id, customer).await;
        for (i, end) in ends.into_iter().enumerate() {
            s.add_entitlement_row(c.id, &format!("e{i}"), end).await;
        }
    }
    let list = |within: Option<i64>| {
        let q = CustomerQuery {
            ending_within_days: within,
            ..CustomerQuery::default()
        };
        let s = &s;
        async move {
            s.customers(a.id, &q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| (c.name, c.next_expiry.map(|t| (t - now).num_days())))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(Some(30)).await,
        vec![("Edge".into(), Some(29)), ("Soon".into(), Some(3))]
    );
    let all = list(None).await;
    assert_eq!(all.len(), 5);
    assert!(
        all.contains(&("Ended".into(), None)),
        "an end passed is no next end"
    );
    assert!(all.contains(&("Later".into(), Some(45))));
}

pub(super) async fn customers_page_by_name_with_a_cursor(s: Fixture) {
    let (a, _) = s.add_org("acme").await;
    // Names that differ only in case are both listed, in a fixed order.
    for n in [
        "delta", "Alpha", "charlie", "alpha", "Bravo", "echo 1", "echo 2",
    ] {
        s.add_customer(a.id, n).await;
    }
    let page = |search: &str, after: Option<&str>, limit: i64| {
        let query = CustomerQuery {
            search: search.into(),
            after: after.map(Into::into),
            limit,
            ending_within_days: None,
        };
        let s = &s;
        async move {
            let page = s.customers(a.id, &query).await.unwrap();
            let names: Vec<String> = page.items.into_iter().map(|c| c.name).collect();
            (names, page.next)
        }
    };
    assert_eq!(
        page("", None, 3).await,
        (
            vec!["Alpha".into(), "alpha".into(), "Bravo".into()],
            Some("Bravo".into())
        )
    );
    assert_eq!(
        page("", Some("Alpha"), 1).await,
        (vec!["alpha".into()], Some("alpha".into()))
    );
    assert_eq!(
        page("", Some("Bravo"), 3).await,
        (
            vec!["charlie".into(), "delta".into(), "echo 1".into()],
            Some("echo 1".into())
        )
    );
    assert_eq!(
        page("", Some("echo 1"), 3).await,
        (vec!["echo 2".into()], None)
    );
    // A cursor whose customer is gone still continues after its name.
    assert_eq!(
        page("", Some("c"), 1).await,
        (vec!["charlie".into()], Some("charlie".into()))
    );
    // Search and cursor together; an exact page has no next.
    assert_eq!(
        page("ECHO", None, 1).await,
        (vec!["echo 1".into()], Some("echo 1".into()))
    );
    assert_eq!(
        page("echo", Some("echo 1"), 1).await,
        (vec!["echo 2".into()], None)
    );
    assert_eq!(
        page("", None, 7).await.1,
        None,
        "no next page when the last item ends the page"
    );
}
