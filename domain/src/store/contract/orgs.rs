//! Contract tests: orgs (run on SQLite and on PostgreSQL; see `mod.rs`).

use super::prelude::*;
/// Org `slug` with admin `admin`, as the first-run page (`only_if_first`) or the CLI asks.
async fn create(
    s: &Fixture,
    slug: &str,
    admin: &str,
    only_if_first: bool,
) -> StoreResult<(Org, VendorUser)> {
    s.create_org_with_admin(new_org(slug), email(admin), "h".into(), only_if_first)
        .await
}

pub(super) async fn first_org_only_once(s: Fixture) {
    assert!(!s.has_orgs().await.unwrap());
    create(&s, "acme", "a@acme.test", true).await.unwrap();
    assert!(s.has_orgs().await.unwrap());
    let again = create(&s, "beta", "b@beta.test", true).await;
    assert!(matches!(again, Err(StoreError::AlreadySetUp)));
    // The CLI may add more orgs.
    create(&s, "beta", "b@beta.test", false).await.unwrap();
}

pub(super) async fn duplicate_slug_and_email_conflict_and_leave_nothing(s: Fixture) {
    create(&s, "acme", "a@acme.test", false).await.unwrap();
    let dup_slug = create(&s, "acme", "x@acme.test", false).await;
    assert!(matches!(dup_slug, Err(StoreError::SlugTaken(slug)) if slug.as_str() == "acme"));
    let dup_email = create(&s, "beta", "a@acme.test", false).await;
    assert!(matches!(dup_email, Err(StoreError::EmailTaken)));
    // The failed second insert rolled back the org too.
    assert!(matches!(
        s.org_by_slug(&OrgSlug::parse("beta").unwrap()).await,
        Err(StoreError::NotFound)
    ));
}

pub(super) async fn set_plan_keeps_trial_end_only_for_trials(s: Fixture) {
    s.add_org("acme").await;
    let slug = OrgSlug::parse("acme").unwrap();
    let end = Utc::now() + chrono::Duration::days(14);
    let org = s.set_plan(&slug, Plan::ProTrial, Some(end)).await.unwrap();
    assert_eq!(org.plan, Plan::ProTrial);
    assert!(org.trial_ends_at.is_some());
    let org = s.set_plan(&slug, Plan::Pro, Some(end)).await.unwrap();
    assert_eq!(org.trial_ends_at, None);
    assert!(matches!(
        s.set_plan(&OrgSlug::parse("nope").unwrap(), Plan::Pro, None)
            .await,
        Err(StoreError::NotFound)
    ));
}
