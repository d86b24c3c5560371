//! Upstreams ([`crate::store::UpstreamStore`], issue 14): one per artifact,
//! scoped to their org, audited; the sync lease that admits one sync at a
//! time, also under concurrent takers; the feed rows that tell the vendor
//! pages a sync moved on.

use super::prelude::*;
use crate::changes::ChangeKind;
use crate::store::{SealedSecret, SecretChange, SyncOutcome};
use crate::upstreams::{CredentialsState, TagSelection, UpstreamState, UpstreamUrl, ValidUpstream};
use crate::UpstreamId;

fn upstream(artifact: &str) -> ValidUpstream {
    ValidUpstream {
        artifact: artifact.into(),
        url: UpstreamUrl::parse("https://ghcr.io").unwrap(),
        repository: "vendor/web".into(),
        username: Some("bot".into()),
        tags: TagSelection::All,
        interval_minutes: 60,
        mirror_deletions: false,
    }
}

/// Org `acme` with an upstream for `web` (no secret), due at `next_sync_at`.
async fn acme_mirroring_web(s: &Fixture, next_sync_at: i64) -> (Org, UpstreamId) {
    let (acme, _) = s.add_org("acme").await;
    let created = s
        .create_upstream(
            acme.id,
            &upstream("web"),
            None,
            next_sync_at,
            &Actor::operator(),
        )
        .await
        .unwrap()
        .unwrap();
    (acme, created.view.id)
}

/// The kinds of the feed's rows after `after`.
async fn kinds_after(s: &Fixture, after: i64) -> Vec<ChangeKind> {
    s.changes_since(after, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.kind)
        .collect()
}

pub(super) async fn one_upstream_per_artifact_and_invisible_to_other_orgs(s: Fixture) {
    let (acme, _) = s.add_org("acme").await;
    let (other, _) = s.add_org("other").await;
    let by = Actor::operator();
    let secret = Some(SealedSecret("sealed".into()));
    let u = s
        .create_upstream(acme.id, &upstream("web"), secret, 0, &by)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.view.credentials, CredentialsState::Set);
    assert_eq!(u.view.state, UpstreamState::Idle);
    assert!(s
        .create_upstream(acme.id, &upstream("web"), None, 0, &by)
        .await
        .unwrap()
        .is_none());
    // Another org may mirror an artifact of the same name.
    assert!(s
        .create_upstream(other.id, &upstream("web"), None, 0, &by)
        .await
        .unwrap()
        .is_some());
    assert!(matches!(
        s.upstream(other.id, u.view.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.upstreams(other.id).await.unwrap().len(), 1);
    assert_ne!(s.upstreams(other.id).await.unwrap()[0].view.id, u.view.id);
    assert!(matches!(
        s.delete_upstream(other.id, u.view.id, &by).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.request_sync(other.id, u.view.id, 0, &by).await,
        Err(StoreError::NotFound)
    ));
    let found = s
        .upstream_of_artifact(acme.id, "web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.view.id, u.view.id);
    assert!(s
        .upstream_of_artifact(acme.id, "w\0eb")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.upstream_by_id(u.view.id).await.unwrap().unwrap().org_id,
        acme.id
    );
    let mut changed = upstream("web");
    changed.tags = TagSelection::List(vec!["1.0".into(), "2.0".into()]);
    changed.interval_minutes = 15;
    changed.mirror_deletions = true;
    let kept = s
        .update_upstream(acme.id, u.view.id, &changed, SecretChange::Keep, &by)
        .await
        .unwrap();
    assert_eq!(kept.secret, Some(SealedSecret("sealed".into())));
    assert_eq!(kept.view.tags, changed.tags);
    assert_eq!(
        (kept.view.interval_minutes, kept.view.mirror_deletions),
        (15, true)
    );
    let cleared = s
        .update_upstream(
            acme.id,
            u.view.id,
            &upstream("web"),
            SecretChange::Clear,
            &by,
        )
        .await
        .unwrap();
    assert_eq!(cleared.view.credentials, CredentialsState::NotSet);
    assert_eq!(cleared.secret, None);
    // Settings changes are audited, and published in the feed (open pages
    // of the org refetch): two creations, two updates.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM upstream_events WHERE action = 'created'")
            .await,
        2
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM upstream_events").await, 4);
    let upstream_changes = |kinds: Vec<ChangeKind>| {
        kinds
            .into_iter()
            .filter(|k| *k == ChangeKind::Upstream)
            .count()
    };
    assert_eq!(upstream_changes(kinds_after(&s, 0).await), 4);
    let feed = s.last_change_id().await.unwrap();
    s.request_sync(acme.id, u.view.id, 0, &by).await.unwrap();
    assert_eq!(kinds_after(&s, feed).await, [ChangeKind::Upstream]);
    let feed = s.last_change_id().await.unwrap();
    s.delete_upstream(acme.id, u.view.id, &by).await.unwrap();
    assert_eq!(kinds_after(&s, feed).await, [ChangeKind::Upstream]);
    assert!(s.upstreams(acme.id).await.unwrap().is_empty());
    assert!(s.upstream_by_id(u.view.id).await.unwrap().is_none());
    assert_eq!(
        s.count("SELECT COUNT(*) FROM upstream_events WHERE action = 'deleted'")
            .await,
        1
    );
}

pub(super) async fn the_lease_admits_one_sync_at_a_time(s: Fixture) {
    let (acme, id) = acme_mirroring_web(&s, 100).await;
    let by = Actor::operator();
    assert!(s.due_upstreams(99, 10).await.unwrap().is_empty());
    assert_eq!(s.due_upstreams(100, 10).await.unwrap(), vec![id]);
    let feed = s.last_change_id().await.unwrap();
    assert!(s.take_upstream_lease(id, "a", 100, 160).await.unwrap());
    assert_eq!(kinds_after(&s, feed).await, [ChangeKind::Upstream]);
    assert!(!s.take_upstream_lease(id, "b", 101, 161).await.unwrap());
    assert!(s.due_upstreams(101, 10).await.unwrap().is_empty());
    // Renewed by its owner; free again once it has run out.
    assert!(s.take_upstream_lease(id, "a", 150, 210).await.unwrap());
    assert!(!s.take_upstream_lease(id, "b", 200, 260).await.unwrap());
    assert!(s.take_upstream_lease(id, "b", 211, 270).await.unwrap());
    s.set_sync_progress(id, "b", 1, 2, 30).await.unwrap();
    // "a" lost it: its progress and end are ignored (and not published).
    let feed = s.last_change_id().await.unwrap();
    s.set_sync_progress(id, "a", 9, 9, 9).await.unwrap();
    let outcome = SyncOutcome {
        error: Some("unreachable".into()),
        tags_synced: vec!["1.0".into()],
        at: Utc::now(),
        next_sync_at: 500,
    };
    s.finish_sync(id, "a", &outcome).await.unwrap();
    assert!(kinds_after(&s, feed).await.is_empty());
    let u = s.upstream(acme.id, id).await.unwrap().view;
    assert_eq!(u.state, UpstreamState::Syncing);
    assert_eq!(
        (
            u.progress.tags_done,
            u.progress.tags_total,
            u.progress.bytes
        ),
        (1, 2, 30)
    );
    s.finish_sync(id, "b", &outcome).await.unwrap();
    assert_eq!(kinds_after(&s, feed).await, [ChangeKind::Upstream]);
    let u = s.upstream(acme.id, id).await.unwrap().view;
    assert_eq!(u.state, UpstreamState::Failed);
    assert_eq!(u.last_error.as_deref(), Some("unreachable"));
    assert_eq!(u.last_synced_at, None);
    assert_eq!(u.tags_synced, vec!["1.0".to_owned()]);
    assert!(s.due_upstreams(499, 10).await.unwrap().is_empty());
    s.request_sync(acme.id, id, 300, &by).await.unwrap();
    assert_eq!(s.due_upstreams(300, 10).await.unwrap(), vec![id]);
    // A success records when; the next taker starts its progress afresh.
    assert!(s.take_upstream_lease(id, "c", 300, 360).await.unwrap());
    let at = Utc::now().trunc_subsecs(3);
    let ok = SyncOutcome {
        error: None,
        tags_synced: vec!["1.0".into(), "2.0".into()],
        at,
        next_sync_at: 900,
    };
    s.finish_sync(id, "c", &ok).await.unwrap();
    let u = s.upstream(acme.id, id).await.unwrap().view;
    assert_eq!(u.state, UpstreamState::Idle);
    assert_eq!(u.last_error, None);
    assert_eq!(u.last_synced_at, Some(at));
    assert_eq!(u.progress.bytes, 0);
    assert!(s.due_upstreams(899, 10).await.unwrap().is_empty());
    assert_eq!(s.due_upstreams(900, 10).await.unwrap(), vec![id]);
}

pub(super) async fn concurrent_takers_get_the_lease_once(s: Fixture) {
    let (acme, id) = acme_mirroring_web(&s, 0).await;
    for round in 0..5i64 {
        // Each round the previous lease has run out: all may try.
        let now = 1000 * (round + 1);
        let mut takers = tokio::task::JoinSet::new();
        for n in 0..8 {
            let store = s.store();
            takers.spawn(async move {
                let owner = format!("instance-{round}-{n}");
                store
                    .take_upstream_lease(id, &owner, now, now + 60)
                    .await
                    .unwrap()
                    .then_some(owner)
            });
        }
        let mut winners = Vec::new();
        while let Some(taken) = takers.join_next().await {
            winners.extend(taken.unwrap());
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        // Only the winner's progress counts.
        s.set_sync_progress(id, &winners[0], 1, 1, round)
            .await
            .unwrap();
        assert_eq!(
            s.upstream(acme.id, id).await.unwrap().view.progress.bytes,
            round
        );
    }
}
