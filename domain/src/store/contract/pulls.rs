//! Contract tests: pulls (run on SQLite and on PostgreSQL; see `mod.rs`).

use super::prelude::*;
fn pull(org_id: OrgId, customer_id: CustomerId, artifact: &str, tag: Option<&str>) -> NewPull {
    NewPull {
        org_id,
        customer_id,
        customer_name: format!("customer {customer_id}"),
        user_id: UserId::from(100 + customer_id.get()),
        user_email: format!("u{customer_id}@c.test"),
        artifact: artifact.into(),
        tag: tag.map(str::to_owned),
        digest: "sha256:aa".into(),
        at: Utc::now(),
        address: "192.0.2.7".into(),
        count: 1,
    }
}

fn query(customer: Option<CustomerId>, artifact: Option<&str>, limit: i64) -> PullQuery {
    PullQuery {
        customer,
        artifact: artifact.map(str::to_owned),
        before: None,
        limit,
    }
}

pub(super) async fn pulls_are_read_per_customer_and_per_artifact_newest_first(s: Fixture) {
    let acme = s.add_org("acme").await.0.id;
    let beta = s.add_org("beta").await.0.id;
    let by = Actor::operator();
    let globex = s.add_customer(acme, "Globex").await;
    let initech = s.add_customer(acme, "Initech").await;
    // Whole microseconds: what every backend keeps of a time.
    let t0 = (Utc::now() - Duration::minutes(10)).trunc_subsecs(6);
    let mut batch = vec![
        pull(acme, globex.id, "web", Some("1.0")),
        pull(acme, initech.id, "web", None),
        pull(acme, globex.id, "charts/web", Some("2.0")),
        pull(beta, globex.id, "web", Some("1.0")),
    ];
    for (i, p) in batch.iter_mut().enumerate() {
        p.at = t0 + Duration::seconds(i as i64);
    }
    // A row standing for several identical pulls keeps its count.
    batch[2].count = 40;
    s.record_pulls(&batch).await.unwrap();
    s.record_pulls(&[]).await.unwrap();

    let mine = s
        .pulls(acme, &query(Some(globex.id), None, 50))
        .await
        .unwrap();
    let seen: Vec<(&str, Option<&str>)> = mine
        .iter()
        .map(|p| (p.artifact.as_str(), p.tag.as_deref()))
        .collect();
    assert_eq!(seen, [("charts/web", Some("2.0")), ("web", Some("1.0"))]);
    assert_eq!(mine[0].customer, "Globex");
    assert!(!mine[0].customer_deleted);
    assert_eq!(mine[0].user_email, format!("u{}@c.test", globex.id));
    assert_eq!(mine[0].address, "192.0.2.7");
    assert_eq!((mine[0].count, mine[1].count), (40, 1));
    assert_eq!(mine[1].at, t0);

    let web = s.pulls(acme, &query(None, Some("web"), 50)).await.unwrap();
    let who: Vec<(&str, Option<&str>)> = web
        .iter()
        .map(|p| (p.customer.as_str(), p.tag.as_deref()))
        .collect();
    assert_eq!(who, [("Initech", None), ("Globex", Some("1.0"))]);

    // Limit and paging by id; the whole org; another org sees only its own.
    let first = s.pulls(acme, &query(None, None, 2)).await.unwrap();
    assert_eq!(first.len(), 2);
    let rest = s
        .pulls(
            acme,
            &PullQuery {
                before: Some(first[1].id),
                ..query(None, None, 10)
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].id < first[1].id);
    let theirs = s.pulls(beta, &query(None, None, 50)).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].customer, format!("customer {}", globex.id));
    assert!(theirs[0].customer_deleted, "not acme's customer");

    // A rename shows at once; a deleted customer keeps its pulls under
    // its name at the pull, and a new customer (which never gets its
    // id: they are not reused) does not inherit them.
    s.rename_customer(acme, initech.id, name("Initrode"), &by)
        .await
        .unwrap();
    let web = s.pulls(acme, &query(None, Some("web"), 50)).await.unwrap();
    assert_eq!(web[0].customer, "Initrode");
    s.delete_customer(acme, initech.id, &by).await.unwrap();
    // A pull still in the writer's buffer when the customer went.
    s.record_pulls(&[pull(acme, initech.id, "web", Some("late"))])
        .await
        .unwrap();
    let hooli = s.add_customer(acme, "Hooli").await;
    assert!(hooli.id > initech.id, "ids are never reused");
    assert!(s
        .pulls(acme, &query(Some(hooli.id), None, 50))
        .await
        .unwrap()
        .is_empty());
    let web = s.pulls(acme, &query(None, Some("web"), 50)).await.unwrap();
    let who: Vec<(String, bool)> = web
        .iter()
        .map(|p| (p.customer_label(), p.customer_deleted))
        .collect();
    assert_eq!(
        who,
        [
            (format!("customer {} (deleted)", initech.id), true),
            (format!("customer {} (deleted)", initech.id), true),
            ("Globex".to_owned(), false),
        ]
    );
}

pub(super) async fn a_large_batch_is_written_whole_and_in_order(s: Fixture) {
    let acme = s.add_org("acme").await.0.id;
    let globex = s.add_customer(acme, "Globex").await;
    let gone = s.add_customer(acme, "Gone").await;
    s.delete_customer(acme, gone.id, &Actor::operator())
        .await
        .unwrap();
    // 128 + 2 × 32 + 8 + 1 rows: every statement size.
    let n = 201;
    let batch: Vec<NewPull> = (0..n)
        .map(|i| {
            let c = if i % 3 == 0 { gone.id } else { globex.id };
            pull(acme, c, "web", Some(&i.to_string()))
        })
        .collect();
    s.record_pulls(&batch).await.unwrap();
    let read = s.pulls(acme, &query(None, None, 1000)).await.unwrap();
    let seen: Vec<(String, bool)> = read
        .iter()
        .rev()
        .map(|p| (p.tag.clone().unwrap(), p.customer_deleted))
        .collect();
    let want: Vec<(String, bool)> = (0..n).map(|i| (i.to_string(), i % 3 == 0)).collect();
    assert_eq!(seen, want);
}
