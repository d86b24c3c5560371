//! Contract tests: users (run on SQLite and on PostgreSQL; see `mod.rs`).

use super::prelude::*;
pub(super) async fn last_admin_is_protected(s: Fixture) {
    let (org, admin) = s.add_org("acme").await;
    assert!(matches!(
        s.set_vendor_role(org.id, admin.id, VendorRole::ReadOnly)
            .await,
        Err(StoreError::LastAdmin(LastAdminChange::Demoted))
    ));
    assert!(matches!(
        s.delete_vendor_user(org.id, admin.id).await,
        Err(StoreError::LastAdmin(LastAdminChange::Removed))
    ));
    let other = s
        .add_vendor_user(org.id, "b@acme.test", VendorRole::Admin)
        .await;
    s.set_vendor_role(org.id, admin.id, VendorRole::ReadOnly)
        .await
        .unwrap();
    s.delete_vendor_user(org.id, admin.id).await.unwrap();
    assert_eq!(s.vendor_users(org.id).await.unwrap(), vec![other]);
}

pub(super) async fn users_are_scoped_to_their_org(s: Fixture) {
    let (a, _) = s.add_org("acme").await;
    let (_b, b_admin) = s.add_org("beta").await;
    assert!(matches!(
        s.delete_vendor_user(a.id, b_admin.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.set_vendor_role(a.id, b_admin.id, VendorRole::ReadOnly)
            .await,
        Err(StoreError::NotFound)
    ));
}

pub(super) async fn principals(s: Fixture) {
    let (org, admin) = s.add_org("acme").await;
    let vendor = s.principal(admin.id).await.unwrap().unwrap();
    assert_eq!(vendor.vendor_role(), Some(VendorRole::Admin));
    let cust = s.add_customer(org.id, "Globex").await;
    let uid = s
        .add_customer_user(org.id, cust.id, "c@globex.test", CustomerRole::Member)
        .await;
    match s.principal(uid).await.unwrap().unwrap() {
        Principal::Customer {
            customer_name,
            role,
            ..
        } => {
            assert_eq!(customer_name, "Globex");
            assert_eq!(role, CustomerRole::Member);
        }
        other => panic!("expected a customer, got {other:?}"),
    }
    assert!(s.principal(UserId::from(9999)).await.unwrap().is_none());
    let creds = s
        .credentials(&email("c@globex.test"))
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{creds:?}").contains("\"h\""));
}

pub(super) async fn a_role_or_password_change_moves_the_session_epoch_on(s: Fixture) {
    let (org, admin) = s.add_org("acme").await;
    let rw = s
        .add_vendor_user(org.id, "rw@acme.test", VendorRole::ReadWrite)
        .await;
    assert!(s.session_principal(rw.id, 0).await.unwrap().is_some());
    s.add_session("s", rw.id).await;
    // The same role: nothing ends.
    s.set_vendor_role(org.id, rw.id, VendorRole::ReadWrite)
        .await
        .unwrap();
    assert_eq!(s.session_epoch(rw.id).await.unwrap(), Some(0));
    s.set_vendor_role(org.id, rw.id, VendorRole::ReadOnly)
        .await
        .unwrap();
    assert_eq!(s.session_epoch(rw.id).await.unwrap(), Some(1));
    assert!(s.session_principal(rw.id, 0).await.unwrap().is_none());
    assert!(s.session_principal(rw.id, 1).await.unwrap().is_some());
    assert_eq!(s.count("SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(s.session_epoch(admin.id).await.unwrap(), Some(0));
}
