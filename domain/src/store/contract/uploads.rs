//! Upload sessions ([`crate::store::UploadStore`]): stored from the first
//! chunk, optimistic appends, one closer, tombstones, the sweeper's stale
//! sessions.

use super::prelude::*;
use crate::store::{StoredUpload, UploadSession};

fn seen(id: &str, repo: i64, parts: &[&str]) -> UploadSession {
    UploadSession {
        id: id.to_owned(),
        repo,
        name: "acme/web".to_owned(),
        size: 0,
        parts: parts.iter().map(|p| p.to_string()).collect(),
    }
}

/// Session `id` as seen under another repository's name, with no parts.
fn other_name(id: &str, repo: i64) -> UploadSession {
    UploadSession {
        name: "acme/other".to_owned(),
        ..seen(id, repo, &[])
    }
}

fn open(s: Option<StoredUpload>) -> UploadSession {
    match s {
        Some(StoredUpload::Open(s)) => s,
        other => panic!("expected an open session, got {other:?}"),
    }
}

pub(super) async fn sessions_append_once_and_end_once(store: Fixture) {
    let (org, _) = store.add_org("acme").await;
    let repo = store.ensure_repo(org.id, "web").await.unwrap().id;
    // Not stored until its first chunk.
    assert_eq!(store.upload("u1").await.unwrap(), None);
    // Two first chunks that both saw the session empty: one wins.
    assert!(store
        .append_upload(&seen("u1", repo, &[]), "a", 10)
        .await
        .unwrap());
    assert!(!store
        .append_upload(&seen("u1", repo, &[]), "b", 5)
        .await
        .unwrap());
    let s = open(store.upload("u1").await.unwrap());
    assert_eq!(
        (s.size, s.parts.clone(), s.name.as_str(), s.repo),
        (10, vec!["a".to_owned()], "acme/web", repo)
    );
    assert!(store.append_upload(&s, "c", 5).await.unwrap());
    assert!(
        !store.append_upload(&s, "d", 5).await.unwrap(),
        "stale view"
    );
    let s = open(store.upload("u1").await.unwrap());
    assert_eq!(
        (s.size, s.parts.clone()),
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
    // Ending with a stale view fails; with the current one, once, and the
    // id stays known as ended.
    assert!(!store.end_upload(&seen("u1", repo, &["a"])).await.unwrap());
    assert!(!store.end_upload(&seen("u1", repo, &[])).await.unwrap());
    assert!(store.end_upload(&s).await.unwrap());
    assert!(!store.end_upload(&s).await.unwrap());
    assert_eq!(store.upload("u1").await.unwrap(), Some(StoredUpload::Ended));
    assert!(!store.append_upload(&s, "e", 1).await.unwrap());
    assert!(!store
        .append_upload(&seen("u1", repo, &[]), "e", 1)
        .await
        .unwrap());
    assert_eq!(store.count_uploads().await.unwrap(), 0);
    assert!(store
        .open_upload_ids(&["u1".into()])
        .await
        .unwrap()
        .is_empty());
    // A session that never had a chunk ends once, and not under another
    // repository's name.
    assert!(store.end_upload(&seen("u2", repo, &[])).await.unwrap());
    assert!(!store.end_upload(&seen("u2", repo, &[])).await.unwrap());
    assert!(!store
        .append_upload(&seen("u2", repo, &[]), "a", 1)
        .await
        .unwrap());
    assert_eq!(store.upload("u2").await.unwrap(), Some(StoredUpload::Ended));
    // A session stored without parts (by an earlier version) takes its
    // first chunk, or ends, only under its own name.
    store.add_legacy_upload("u4", repo, "acme/web").await;
    assert_eq!(open(store.upload("u4").await.unwrap()).parts.len(), 0);
    assert!(!store.end_upload(&other_name("u4", repo)).await.unwrap());
    assert!(!store
        .append_upload(&other_name("u4", repo), "a", 1)
        .await
        .unwrap());
    assert!(store
        .append_upload(&seen("u4", repo, &[]), "a", 1)
        .await
        .unwrap());
    assert!(store
        .end_upload(&open(store.upload("u4").await.unwrap()))
        .await
        .unwrap());
    store.add_legacy_upload("u5", repo, "acme/web").await;
    assert!(store.end_upload(&seen("u5", repo, &[])).await.unwrap());
    assert_eq!(store.upload("u5").await.unwrap(), Some(StoredUpload::Ended));
    // The sweeper takes stale open sessions (returned, for their chunks)
    // and tombstones (not returned), once.
    assert!(store
        .append_upload(&seen("u3", repo, &[]), "a", 1)
        .await
        .unwrap());
    let later = Utc::now() + chrono::Duration::seconds(1);
    let earlier = Utc::now() - chrono::Duration::hours(1);
    let stale = store.take_stale_uploads(later, earlier).await.unwrap();
    assert_eq!(
        stale.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["u3"]
    );
    // Tombstones stay until they ended before `ended_before`.
    assert_eq!(store.upload("u1").await.unwrap(), Some(StoredUpload::Ended));
    assert!(store
        .take_stale_uploads(later, later)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.upload("u1").await.unwrap(), None);
    assert_eq!(store.count_uploads().await.unwrap(), 0);
    assert!(store.pool_use().max >= 1);
}

pub(super) async fn ending_with_the_blob_links_it_only_for_the_closer(store: Fixture) {
    let (org, _) = store.add_org("acme").await;
    let repo = store.ensure_repo(org.id, "web").await.unwrap().id;
    let d1 = format!("sha256:{}", "1".repeat(64));
    let d2 = format!("sha256:{}", "2".repeat(64));
    // A session never stored: ended and linked in one call, once.
    let empty = seen("u1", repo, &[]);
    assert!(store.end_upload_linking(&empty, &d1, 7).await.unwrap());
    assert_eq!(store.repo_blob(repo, &d1).await.unwrap(), Some(7));
    assert_eq!(store.upload("u1").await.unwrap(), Some(StoredUpload::Ended));
    assert!(!store.end_upload_linking(&empty, &d2, 3).await.unwrap());
    assert_eq!(store.repo_blob(repo, &d2).await.unwrap(), None);
    assert_eq!(
        store.blob_size(&d2).await.unwrap(),
        None,
        "nothing recorded"
    );
    // A session with stored chunks ends first and links after (it is not
    // for this call), and one that has them cannot be ended as empty.
    assert!(store
        .append_upload(&seen("u2", repo, &[]), "a", 3)
        .await
        .unwrap());
    assert!(store
        .end_upload_linking(&seen("u2", repo, &["a"]), &d2, 3)
        .await
        .is_err());
    assert!(!store
        .end_upload_linking(&seen("u2", repo, &[]), &d2, 3)
        .await
        .unwrap());
    assert_eq!(store.repo_blob(repo, &d2).await.unwrap(), None);
    assert_eq!(store.blob_size(&d2).await.unwrap(), None);
    // Not under another repository's name either (a session stored
    // without parts by an earlier version), but under its own.
    store.add_legacy_upload("u5", repo, "acme/web").await;
    assert!(!store
        .end_upload_linking(&other_name("u5", repo), &d2, 3)
        .await
        .unwrap());
    assert_eq!(store.blob_size(&d2).await.unwrap(), None);
    assert!(store
        .end_upload_linking(&seen("u5", repo, &[]), &d2, 3)
        .await
        .unwrap());
    assert_eq!(store.repo_blob(repo, &d2).await.unwrap(), Some(3));
    // A blob already known is linked again without a conflict.
    let again = seen("u3", repo, &[]);
    assert!(store.end_upload_linking(&again, &d1, 7).await.unwrap());
    // A call that fails part-way (the repository is gone: its link breaks
    // a foreign key) leaves nothing: no end, no blob.
    let gone = seen("u6", repo + 1000, &[]);
    let d3 = format!("sha256:{}", "3".repeat(64));
    assert!(store.end_upload_linking(&gone, &d3, 1).await.is_err());
    assert_eq!(store.upload("u6").await.unwrap(), None);
    assert_eq!(store.blob_size(&d3).await.unwrap(), None);
    // After all of that the store still takes writes (a transaction left
    // open on a pooled connection would hold SQLite's write lock: writes
    // on the others would time out).
    for i in 0..8 {
        let id = format!("w{i}");
        assert!(store
            .append_upload(&seen(&id, repo, &[]), "a", 1)
            .await
            .unwrap());
    }
    // (u2, still open with its chunk, and these.)
    assert_eq!(store.count_uploads().await.unwrap(), 9);
}
