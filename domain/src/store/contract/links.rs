//! Contract tests: links (run on SQLite and on PostgreSQL; see `mod.rs`).

use super::prelude::*;
pub(super) async fn a_link_works_once_until_it_expires(s: Fixture) {
    let (org, _) = s.add_org("acme").await;
    let globex = s.add_customer(org.id, "Globex").await;
    let now = Utc::now();
    let add = |address: &'static str, hash: &'static str, expires| {
        let s = s.clone();
        async move {
            s.create_customer_user_with_link(
                org.id,
                globex.id,
                email(address),
                CustomerRole::Member,
                (hash, expires),
                &Actor::operator(),
            )
            .await
        }
    };
    let uid = add("c@globex.test", "h1", now + Duration::days(7))
        .await
        .unwrap();
    let creds = s
        .credentials(&email("c@globex.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.password_hash, crate::password::UNUSABLE);
    assert!(matches!(
        add("c@globex.test", "h2", now).await,
        Err(StoreError::EmailTaken)
    ));
    assert!(matches!(
        s.create_customer_user_with_link(
            org.id,
            CustomerId::from(globex.id.get() + 1000),
            email("x@globex.test"),
            CustomerRole::Member,
            ("h3", now),
            &Actor::operator(),
        )
        .await,
        Err(StoreError::NotFound)
    ));

    let found = s.password_link("h1", now).await.unwrap().unwrap();
    assert_eq!(
        (found.user_id, found.email.as_str()),
        (uid, "c@globex.test")
    );
    assert!(s.password_link("nope", now).await.unwrap().is_none());
    // Expired at `now + 8 days`.
    let later = now + Duration::days(8);
    assert!(s.password_link("h1", later).await.unwrap().is_none());
    let use_h1 = |password: &str, at| s.use_password_link("h1", password.into(), at);
    assert_eq!(use_h1("$new", later).await.unwrap(), None);

    assert_eq!(use_h1("$new", now).await.unwrap(), Some(uid));
    let creds = s
        .credentials(&email("c@globex.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.password_hash, "$new");
    // A new password ends the sessions begun before it.
    assert_eq!(s.session_epoch(uid).await.unwrap(), Some(1));
    assert!(s.password_link("h1", now).await.unwrap().is_none());
    assert_eq!(use_h1("$again", now).await.unwrap(), None);
}
