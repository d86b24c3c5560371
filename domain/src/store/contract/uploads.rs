//! Upload sessions ([`crate::store::UploadStore`]): optimistic appends, one
//! closer, the sweeper's stale sessions.

use super::prelude::*;

pub(super) async fn sessions_append_once_and_end_once(store: Fixture) {
    let (org, _) = store.add_org("acme").await;
    let repo = store.ensure_repo(org.id, "web").await.unwrap();
    store
        .create_upload("u1", repo.id, "acme/web")
        .await
        .unwrap();
    let s = store.upload("u1").await.unwrap().unwrap();
    assert_eq!((s.size, s.parts.len(), s.name.as_str()), (0, 0, "acme/web"));
    // Two appends that both read the empty session: one wins.
    assert!(store.append_upload("u1", &[], "a", 10).await.unwrap());
    assert!(!store.append_upload("u1", &[], "b", 5).await.unwrap());
    let parts = vec!["a".to_owned()];
    assert!(store.append_upload("u1", &parts, "c", 5).await.unwrap());
    let s = store.upload("u1").await.unwrap().unwrap();
    assert_eq!(
        (s.size, s.parts),
        (15, vec!["a".to_owned(), "c".to_owned()])
    );
    assert_eq!(store.count_uploads().await.unwrap(), 1);
    assert_eq!(
        store
            .open_upload_ids(&["u1".into(), "u2".into()])
            .await
            .unwrap(),
        vec!["u1".to_owned()]
    );
    // Ending with a stale view fails; with the current one, once.
    assert!(!store.end_upload("u1", &parts).await.unwrap());
    let both = vec!["a".to_owned(), "c".to_owned()];
    assert!(store.end_upload("u1", &both).await.unwrap());
    assert!(!store.end_upload("u1", &both).await.unwrap());
    assert!(store.upload("u1").await.unwrap().is_none());
    // Stale sessions are taken once.
    store
        .create_upload("u3", repo.id, "acme/web")
        .await
        .unwrap();
    let later = Utc::now() + chrono::Duration::seconds(1);
    let stale = store.take_stale_uploads(later).await.unwrap();
    assert_eq!(stale.len(), 1);
    assert!(store.take_stale_uploads(later).await.unwrap().is_empty());
    assert_eq!(store.count_uploads().await.unwrap(), 0);
    assert!(store.pool_use().max >= 1);
}
