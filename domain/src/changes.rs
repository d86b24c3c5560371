//! The change feed: every write that changes what a customer may see or who
//! may sign in is recorded in the `changes` table in its own transaction, and
//! published after commit to this process's [`ChangeHub`]. In-memory caches
//! listen synchronously (so the very next request sees the change) and the
//! live-update streams subscribe. Other processes (the `admin` CLI, other
//! instances) see the table: each server polls it and publishes what it did
//! not write itself (PostgreSQL's `LISTEN/NOTIFY` can replace the poll).

use crate::{CustomerId, OrgId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// An entitlement of `customer_id` was created, changed or deleted.
    Entitlements,
    /// The org's plan or trial end changed.
    Plan,
    /// The customer was deleted, with its users.
    CustomerRemoved,
    /// A user was removed or its role changed: its sessions and tokens go.
    UserChanged,
    /// One of `user_id`'s access tokens was revoked.
    TokenRevoked,
    /// A tag was pushed or moved ([`Change::tagged`] says which).
    Tagged,
    /// A repository's content changed otherwise: a manifest pushed without
    /// a tag, a manifest or a tag deleted ([`Change::tagged`] holds the
    /// artifact and an empty tag). Registry caches evict the repository.
    Repository,
    /// An upstream's sync started, progressed or ended (vendor pages).
    Upstream,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 8] = [
        ChangeKind::Entitlements,
        ChangeKind::Plan,
        ChangeKind::CustomerRemoved,
        ChangeKind::UserChanged,
        ChangeKind::TokenRevoked,
        ChangeKind::Tagged,
        ChangeKind::Repository,
        ChangeKind::Upstream,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Entitlements => "entitlements",
            ChangeKind::Plan => "plan",
            ChangeKind::CustomerRemoved => "customer_removed",
            ChangeKind::UserChanged => "user_changed",
            ChangeKind::TokenRevoked => "token_revoked",
            ChangeKind::Tagged => "tagged",
            ChangeKind::Repository => "repository",
            ChangeKind::Upstream => "upstream",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Its row id in `changes`: increasing, the same on every instance.
    pub id: i64,
    pub org_id: OrgId,
    pub customer_id: Option<CustomerId>,
    pub user_id: Option<UserId>,
    pub kind: ChangeKind,
    /// A [`ChangeKind::Tagged`] change: the artifact (without the org slug)
    /// and the tag; a [`ChangeKind::Repository`] change: the artifact and "".
    pub tagged: Option<(String, String)>,
}

impl Change {
    /// Whether a portal page of `customer` in `org` must refresh: its own
    /// entitlements, or an org-wide change (rule 1 flips for everyone when
    /// the first entitlement is created or the plan changes).
    pub fn concerns_customer(&self, org: OrgId, customer: CustomerId) -> bool {
        self.org_id == org
            && match self.kind {
                ChangeKind::Plan | ChangeKind::Entitlements => true,
                ChangeKind::CustomerRemoved => self.customer_id == Some(customer),
                // Whether a push concerns a customer depends on its grants:
                // the live stream decides.
                ChangeKind::UserChanged
                | ChangeKind::TokenRevoked
                | ChangeKind::Tagged
                | ChangeKind::Repository
                | ChangeKind::Upstream => false,
            }
    }

    /// The artifact whose content changed (a tag push or move, or another
    /// repository change), without the org slug.
    pub fn repository(&self) -> Option<&str> {
        match self.kind {
            ChangeKind::Tagged | ChangeKind::Repository => {
                self.tagged.as_ref().map(|(a, _)| a.as_str())
            }
            _ => None,
        }
    }
}

type Listener = Arc<dyn Fn(&Change) + Send + Sync>;

/// Publishes committed changes inside one process, each once.
pub struct ChangeHub {
    listeners: RwLock<Vec<Listener>>,
    stream: tokio::sync::broadcast::Sender<Change>,
    /// Ids already published above `floor` (everything at or below the floor
    /// is done): a change written here and seen again by the poll is
    /// published once.
    seen: Mutex<(i64, BTreeSet<i64>)>,
}

impl Default for ChangeHub {
    fn default() -> Self {
        Self {
            listeners: RwLock::default(),
            stream: tokio::sync::broadcast::channel(1024).0,
            seen: Mutex::default(),
        }
    }
}

impl std::fmt::Debug for ChangeHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeHub").finish_non_exhaustive()
    }
}

impl ChangeHub {
    /// Runs `f` for every change, synchronously, before `publish` returns:
    /// for cache eviction.
    pub fn listen(&self, f: impl Fn(&Change) + Send + Sync + 'static) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(f));
    }

    /// A stream of changes (live updates); slow readers lose old ones and
    /// should then refresh everything.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.stream.subscribe()
    }

    /// Publishes a committed change unless it already was.
    ///
    /// Publishing is serialized: when this returns, the listeners have run
    /// for `change`, whichever caller (the writer or the poll) ran them.
    pub fn publish(&self, change: Change) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if change.id <= seen.0 || !seen.1.insert(change.id) {
            return;
        }
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for l in listeners {
            l(&change);
        }
        let _ = self.stream.send(change);
        drop(seen);
    }

    /// The change id up to which every change has been applied here (the
    /// poll has read the feed that far): a page whose data is read after
    /// taking it reflects every change up to it.
    pub fn position(&self) -> i64 {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// The poll has read everything up to `id`: forget the ids below it.
    pub fn advance(&self, id: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if id > seen.0 {
            seen.0 = id;
            seen.1 = seen.1.split_off(&(id + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn change(id: i64) -> Change {
        Change {
            id,
            org_id: OrgId::from(1),
            customer_id: Some(CustomerId::from(2)),
            user_id: None,
            kind: ChangeKind::Entitlements,
            tagged: None,
        }
    }

    #[test]
    fn each_change_is_published_once_to_listeners_and_subscribers() {
        let hub = ChangeHub::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        hub.listen(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        let mut rx = hub.subscribe();
        hub.publish(change(5));
        hub.publish(change(5)); // the poll sees our own write again
        hub.advance(5);
        hub.publish(change(4)); // older than the floor: already done
        hub.publish(change(6));
        // The position is how far the feed was read, not the newest write
        // published: 6 may follow changes the poll has not read yet.
        assert_eq!(hub.position(), 5);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(rx.try_recv().unwrap().id, 5);
        assert_eq!(rx.try_recv().unwrap().id, 6);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn kinds_round_trip_and_who_must_refresh() {
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(k.as_str()), Some(k));
        }
        let (org, customer) = (OrgId::from, CustomerId::from);
        assert!(
            change(1).concerns_customer(org(1), customer(99)),
            "org-wide rule 1 may flip"
        );
        assert!(
            !change(1).concerns_customer(org(2), customer(2)),
            "another org"
        );
        let removed = Change {
            kind: ChangeKind::CustomerRemoved,
            ..change(1)
        };
        assert!(removed.concerns_customer(org(1), customer(2)));
        assert!(!removed.concerns_customer(org(1), customer(3)));
    }
}
