//! The pull log's writer (SPEC §6): a customer's manifest GET is handed to
//! [`PullLog::record_manifest_pull`], which never waits, and a background
//! task decides what is a pull and writes the pulls in batches: when
//! [`Settings::batch`] pulls are waiting, and every [`Settings::every`]
//! otherwise. [`PullLog::flush`] writes what is waiting now (tests await
//! it; shutdown calls it).
//!
//! A pull is what a person means by one: a client pulling a multi-platform
//! image reads the index and then the child manifest of its platform (or
//! all of them); a child read by digest with the same token within
//! [`Settings::window`] of its index (or of the previous child) belongs to
//! the index's pull and is not recorded again (see [`Folding`]). Clients
//! that resolve a tag with a HEAD and then GET the manifest by digest
//! (docker, helm, oras) have the pull recorded with that tag.
//!
//! Identical pulls (same user, artifact, tag, digest and address) in the
//! same second are one row with a `count` ([`Waiting`]): a burst, like a
//! fleet of nodes pulling one image or a load test, costs the database a
//! row a second rather than a row a pull, and every pull is still counted.
//!
//! The queue is bounded: when the database falls that far behind, further
//! pulls are dropped and counted (with a warning), rather than slowing down
//! or piling up in memory. A batch that fails to be written is kept and
//! retried at the next tick (up to the queue's size).

use super::cache::CachedManifest;
use chrono::{DateTime, Utc};
use domain::oci::{Reference, RepositoryName};
use domain::pulls::NewPull;
use domain::store::{DynStore, StoreResult};
use domain::token_cache::CachedToken;
use domain::{Principal, TokenId};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// Where batches are written: the store (or a test's recorder).
pub trait PullSink: Send + Sync + 'static {
    fn write<'a>(&'a self, pulls: &'a [NewPull]) -> BoxFuture<'a, StoreResult<()>>;
}

impl PullSink for DynStore {
    fn write<'a>(&'a self, pulls: &'a [NewPull]) -> BoxFuture<'a, StoreResult<()>> {
        self.record_pulls(pulls)
    }
}

/// How the writer batches.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Pulls waiting at most (in the queue); beyond that they are dropped.
    pub capacity: usize,
    /// A batch this big is written at once.
    pub batch: usize,
    /// Whatever is waiting is written this often.
    pub every: Duration,
    /// How long after an index (or its last child read) a child read by
    /// digest with the same token still belongs to the index's pull.
    pub window: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            capacity: 10_000,
            batch: 500,
            every: Duration::from_secs(1),
            window: Duration::from_secs(60),
        }
    }
}

/// Whether `principal`'s manifest reads go in the pull log: a customer
/// user's do; a vendor's are not pulls of a customer.
pub fn is_logged(principal: &Principal) -> bool {
    matches!(principal, Principal::Customer { .. })
}

/// A customer user's manifest GET, as the registry answered it: what the
/// writer needs to record it, or to fold it into the pull it belongs to.
/// (Cheap to make on the request path: two reference counts, the name and
/// the reference.)
pub struct ManifestGet {
    pub token: Arc<CachedToken>,
    pub name: RepositoryName,
    pub reference: Reference,
    pub manifest: Arc<CachedManifest>,
    pub at: DateTime<Utc>,
    pub client: Option<IpAddr>,
}

impl ManifestGet {
    /// A read of `manifest` by `token` from `client`, now.
    pub fn now(
        token: &Arc<CachedToken>,
        name: RepositoryName,
        reference: Reference,
        manifest: &Arc<CachedManifest>,
        client: Option<IpAddr>,
    ) -> Self {
        ManifestGet {
            token: token.clone(),
            name,
            reference,
            manifest: manifest.clone(),
            at: Utc::now(),
            client,
        }
    }

    /// The row of the pull log (`None` for anyone but a customer user);
    /// `resolved` is the tag a GET by digest was resolved from.
    fn to_pull(&self, resolved: Option<String>) -> Option<NewPull> {
        let Principal::Customer {
            user_id,
            email,
            org_id,
            customer_id,
            customer_name,
            ..
        } = &self.token.principal
        else {
            return None;
        };
        Some(NewPull {
            org_id: *org_id,
            customer_id: *customer_id,
            customer_name: customer_name.clone(),
            user_id: *user_id,
            user_email: email.clone(),
            artifact: self.name.artifact().to_owned(),
            tag: match &self.reference {
                Reference::Tag(t) => Some(t.as_str().to_owned()),
                Reference::Digest(_) => resolved,
            },
            digest: self.manifest.digest.clone(),
            at: self.at,
            address: self
                .client
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_canonical().to_string()),
            count: 1,
        })
    }
}

/// The pulls waiting to be written, identical pulls in one second folded
/// into one row (its `count`).
#[derive(Default)]
struct Waiting {
    rows: Vec<NewPull>,
    /// The row of each kind of pull waiting (and its client's address), by
    /// the hash of what makes two pulls identical (checked on a hit).
    index: HashMap<u64, (usize, Option<IpAddr>)>,
    /// The row the last pull went to: a burst of one pull is counted
    /// without hashing.
    last: Option<(usize, Option<IpAddr>)>,
}

impl Waiting {
    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Adds a customer user's pull, or counts it in the waiting row of an
    /// identical one. `resolved`: the tag a GET by digest was resolved from.
    fn add_get(&mut self, get: &ManifestGet, resolved: Option<String>) {
        let Principal::Customer { user_id, .. } = &get.token.principal else {
            return;
        };
        let tag = match &get.reference {
            Reference::Tag(t) => Some(t.as_str()),
            Reference::Digest(_) => resolved.as_deref(),
        };
        let (artifact, digest) = (get.name.artifact(), get.manifest.digest.as_str());
        let second = get.at.timestamp();
        let client = get.client.map(|ip| ip.to_canonical());
        let same = |row: &NewPull, row_client: Option<IpAddr>| {
            row.user_id == *user_id
                && row_client == client
                && row.at.timestamp() == second
                && row.digest == digest
                && row.tag.as_deref() == tag
                && row.artifact == artifact
        };
        if let Some((i, c)) = self.last {
            if same(&self.rows[i], c) {
                self.rows[i].count += 1;
                return;
            }
        }
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            (user_id, artifact, tag, digest, client, second).hash(&mut h);
            h.finish()
        };
        if let Some(&(i, c)) = self.index.get(&key) {
            if same(&self.rows[i], c) {
                self.rows[i].count += 1;
                self.last = Some((i, c));
                return;
            }
        }
        if let Some(row) = get.to_pull(resolved) {
            let at = (self.rows.len(), client);
            self.index.insert(key, at);
            self.last = Some(at);
            self.rows.push(row);
        }
    }

    /// Forgets which row each kind of pull is in (after the rows moved).
    fn reindexed(&mut self) {
        self.index.clear();
        self.last = None;
    }
}

enum Msg {
    Pull(NewPull),
    Get(ManifestGet),
    /// A HEAD by tag: what the tag pointed to, for a GET by digest after.
    Head(ManifestGet),
    Flush(oneshot::Sender<()>),
}

/// The handle the registry records pulls with.
pub struct PullLog {
    inbox: Arc<Inbox>,
    dropped: Arc<AtomicU64>,
}

/// What the request path hands the writer: a locked list, not a channel,
/// so that recording a pull is a push under an uncontended lock, and the
/// writer is woken once a batch (or a flush, or the end) rather than for
/// each pull.
struct Inbox {
    msgs: Mutex<Vec<Msg>>,
    wake: Notify,
    closed: AtomicBool,
    /// Messages waiting at most; beyond that pulls are dropped.
    capacity: usize,
    /// The writer is woken when this many are waiting.
    batch: usize,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Msg>> {
        self.msgs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PullLog {
    /// Starts the background writer (needs a Tokio runtime).
    pub fn spawn(sink: impl PullSink, settings: Settings) -> Self {
        let inbox = Arc::new(Inbox {
            msgs: Mutex::new(Vec::with_capacity(settings.batch)),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            capacity: settings.capacity.max(1),
            batch: settings.batch.max(1),
        });
        let dropped = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(sink, inbox.clone(), settings, dropped.clone()));
        PullLog { inbox, dropped }
    }

    /// Queues a pull as it is; never waits. When the queue is full the
    /// pull is dropped and counted.
    pub fn record(&self, pull: NewPull) {
        self.send(Msg::Pull(pull));
    }

    fn send(&self, msg: Msg) {
        let inbox = &self.inbox;
        let mut msgs = inbox.lock();
        if msgs.len() >= inbox.capacity {
            drop(msgs);
            count_dropped(&self.dropped, 1);
            return;
        }
        msgs.push(msg);
        let waiting = msgs.len();
        drop(msgs);
        if waiting == inbox.batch {
            inbox.wake.notify_one();
        }
    }

    /// Hands over a manifest GET (HEAD requests are not pulls: clients send
    /// them to check what a tag points to); never waits. Only customer
    /// users' pulls are logged; a vendor's own pulls are not. The writer
    /// decides whether it is a pull of its own or part of an index's.
    pub fn record_manifest_pull(&self, get: ManifestGet) {
        if is_logged(&get.token.principal) {
            self.send(Msg::Get(get));
        }
    }

    /// Hands over a customer user's manifest HEAD by tag (not a pull);
    /// never waits. A GET by digest of what it answered, with the same
    /// token within the window, is recorded with the tag.
    pub fn record_manifest_head(&self, head: ManifestGet) {
        if is_logged(&head.token.principal) && matches!(head.reference, Reference::Tag(_)) {
            self.send(Msg::Head(ManifestGet {
                client: None,
                ..head
            }));
        }
    }

    /// Writes every pull recorded before this call (one attempt: a failed
    /// write stays queued for the next tick).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        // (Never dropped for a full queue: it is not a pull.)
        self.inbox.lock().push(Msg::Flush(done));
        self.inbox.wake.notify_one();
        let _ = wait.await;
    }

    /// How many pulls were dropped since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for PullLog {
    /// The writer writes what is waiting and ends.
    fn drop(&mut self) {
        self.inbox.closed.store(true, Ordering::SeqCst);
        self.inbox.wake.notify_one();
    }
}

/// Which manifest GETs are one client pull. An index read (by tag or by
/// digest) is a pull and opens a window for its token; a manifest the
/// index lists, read by digest with the same token in the same repository
/// while the window is open, belongs to that pull (and extends the window,
/// so that `--all` platforms, fetched one after the other, stay one pull;
/// a child that is itself an index adds its own children). Anything else
/// is a pull of its own: a manifest by tag, a child read after the window,
/// with another token, or one the index does not list.
///
/// It also remembers, per token, what a HEAD by tag answered, so that the
/// GET by digest that follows it is a pull of that tag ([`Folding::tag_of`]).
pub struct Folding {
    window: chrono::Duration,
    open: HashMap<TokenId, Vec<OpenIndex>>,
    resolved: HashMap<TokenId, Vec<Resolved>>,
}

/// A tag a token resolved with a HEAD.
struct Resolved {
    repo: String,
    digest: String,
    tag: String,
    until: DateTime<Utc>,
}

struct OpenIndex {
    repo: String,
    index: String,
    children: Vec<String>,
    until: DateTime<Utc>,
}

/// Indexes a token may have open at once (a compose file pulling many
/// images at a time); beyond that the oldest is forgotten.
const OPEN_PER_TOKEN: usize = 64;

impl Folding {
    pub fn new(window: Duration) -> Self {
        Folding {
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::days(1)),
            open: HashMap::new(),
            resolved: HashMap::new(),
        }
    }

    /// Remembers what a HEAD by tag answered.
    pub fn resolve(&mut self, head: &ManifestGet) {
        let Reference::Tag(tag) = &head.reference else {
            return;
        };
        let seen = self.resolved.entry(head.token.token_id).or_default();
        seen.retain(|r| !(r.repo == head.name.as_str() && r.digest == head.manifest.digest));
        if seen.len() >= OPEN_PER_TOKEN {
            seen.remove(0);
        }
        seen.push(Resolved {
            repo: head.name.as_str().to_owned(),
            digest: head.manifest.digest.clone(),
            tag: tag.as_str().to_owned(),
            until: head.at + self.window,
        });
    }

    /// The tag a GET by digest was resolved from: the latest HEAD by tag,
    /// with the same token in the same repository within the window, that
    /// answered this digest.
    pub fn tag_of(&self, get: &ManifestGet) -> Option<String> {
        if !matches!(get.reference, Reference::Digest(_)) {
            return None;
        }
        self.resolved
            .get(&get.token.token_id)?
            .iter()
            .rev()
            .find(|r| {
                get.at <= r.until && r.repo == get.name.as_str() && r.digest == get.manifest.digest
            })
            .map(|r| r.tag.clone())
    }

    /// Whether `get` is a pull of its own (else it belongs to an open
    /// index's pull).
    pub fn is_pull(&mut self, get: &ManifestGet) -> bool {
        let token = get.token.token_id;
        let m = &get.manifest;
        if matches!(get.reference, Reference::Digest(_)) {
            if let Some(open) = self.open.get_mut(&token) {
                let parent = open.iter_mut().find(|o| {
                    get.at <= o.until
                        && o.repo == get.name.as_str()
                        && o.children.iter().any(|c| *c == m.digest)
                });
                if let Some(parent) = parent {
                    parent.until = get.at + self.window;
                    for c in &m.children {
                        if !parent.children.contains(c) {
                            parent.children.push(c.clone());
                        }
                    }
                    return false;
                }
            }
        }
        if !m.children.is_empty() {
            let open = self.open.entry(token).or_default();
            open.retain(|o| !(o.repo == get.name.as_str() && o.index == m.digest));
            if open.len() >= OPEN_PER_TOKEN {
                open.remove(0);
            }
            open.push(OpenIndex {
                repo: get.name.as_str().to_owned(),
                index: m.digest.clone(),
                children: m.children.clone(),
                until: get.at + self.window,
            });
        }
        true
    }

    /// Forgets the windows closed before `now`.
    pub fn close_before(&mut self, now: DateTime<Utc>) {
        self.open.retain(|_, open| {
            open.retain(|o| o.until >= now);
            !open.is_empty()
        });
        self.resolved.retain(|_, seen| {
            seen.retain(|r| r.until >= now);
            !seen.is_empty()
        });
    }
}

fn count_dropped(dropped: &AtomicU64, n: u64) {
    let before = dropped.fetch_add(n, Ordering::Relaxed);
    // Warn at the first drop and then every thousandth, not on each.
    if before == 0 || (before + n) / 1000 > before / 1000 {
        tracing::warn!(
            dropped = before + n,
            "the pull log cannot keep up: pulls are being dropped"
        );
    }
}

async fn run(sink: impl PullSink, inbox: Arc<Inbox>, settings: Settings, dropped: Arc<AtomicU64>) {
    let mut waiting = Waiting::default();
    let mut folding = Folding::new(settings.window);
    // (The first tick one period from now, not at once.)
    let start = tokio::time::Instant::now() + settings.every;
    let mut tick = tokio::time::interval_at(start, settings.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // After a failed write, wait for the tick rather than retry on every pull.
    let mut failing = false;
    // The inbox's messages are swapped out at once (one wake-up, one lock,
    // for many); the two lists take turns.
    let mut taken: Vec<Msg> = Vec::with_capacity(settings.batch);
    loop {
        let ticked = tokio::select! {
            _ = inbox.wake.notified() => false,
            _ = tick.tick() => true,
        };
        std::mem::swap(&mut *inbox.lock(), &mut taken);
        for msg in taken.drain(..) {
            match msg {
                Msg::Pull(p) => waiting.rows.push(p),
                Msg::Get(g) => {
                    if folding.is_pull(&g) {
                        waiting.add_get(&g, folding.tag_of(&g));
                    }
                }
                Msg::Head(h) => folding.resolve(&h),
                Msg::Flush(done) => {
                    failing = !write(&sink, &mut waiting, &settings, &dropped).await;
                    let _ = done.send(());
                }
            }
            if waiting.len() >= settings.batch && !failing {
                failing = !write(&sink, &mut waiting, &settings, &dropped).await;
            }
        }
        if inbox.closed.load(Ordering::SeqCst) && inbox.lock().is_empty() {
            // The log is gone (the server stops): what is waiting is written.
            write(&sink, &mut waiting, &settings, &dropped).await;
            return;
        }
        if ticked {
            folding.close_before(Utc::now());
            failing = !write(&sink, &mut waiting, &settings, &dropped).await;
        }
    }
}

/// Writes what is waiting; `false` when that failed (it stays waiting,
/// trimmed to the queue's size).
async fn write(
    sink: &impl PullSink,
    waiting: &mut Waiting,
    settings: &Settings,
    dropped: &AtomicU64,
) -> bool {
    if waiting.rows.is_empty() {
        return true;
    }
    match sink.write(&waiting.rows).await {
        Ok(()) => {
            waiting.rows.clear();
            waiting.reindexed();
            true
        }
        Err(e) => {
            let rows = &mut waiting.rows;
            tracing::error!(error = %e, rows = rows.len(), "writing the pull log failed; will retry");
            if rows.len() > settings.capacity {
                let excess = rows.len() - settings.capacity;
                let lost: i64 = rows.drain(..excess).map(|p| p.count).sum();
                count_dropped(dropped, lost as u64);
                waiting.reindexed();
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::store::StoreError;
    use domain::{CustomerId, OrgId, TokenId, UserId};
    use std::sync::atomic::AtomicBool;
    use tokio::sync::mpsc;
    use tokio::sync::RwLock;

    /// A sink that keeps what it is given and reports each write.
    struct Recorder {
        written: Mutex<Vec<NewPull>>,
        fail: AtomicBool,
        /// Held for writing by a test, it holds writes back.
        gate: RwLock<()>,
        events: mpsc::UnboundedSender<usize>,
    }

    impl PullSink for Arc<Recorder> {
        fn write<'a>(&'a self, pulls: &'a [NewPull]) -> BoxFuture<'a, StoreResult<()>> {
            Box::pin(async move {
                let _ = self.events.send(pulls.len());
                let _open = self.gate.read().await;
                if self.fail.load(Ordering::SeqCst) {
                    return Err(StoreError::Internal("disk full".into()));
                }
                self.written.lock().unwrap().extend_from_slice(pulls);
                Ok(())
            })
        }
    }

    fn recorder() -> (Arc<Recorder>, mpsc::UnboundedReceiver<usize>) {
        let (events, rx) = mpsc::unbounded_channel();
        let r = Recorder {
            written: Mutex::default(),
            fail: AtomicBool::new(false),
            gate: RwLock::new(()),
            events,
        };
        (Arc::new(r), rx)
    }

    /// The next write the sink saw (bounded, so a bug fails instead of hanging).
    async fn next_write(rx: &mut mpsc::UnboundedReceiver<usize>) -> usize {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a write")
            .unwrap()
    }

    fn pull(n: usize) -> NewPull {
        NewPull {
            org_id: OrgId::from(1),
            customer_id: CustomerId::from(2),
            customer_name: "Globex".into(),
            user_id: UserId::from(3),
            user_email: "c@globex.test".into(),
            artifact: "web".into(),
            tag: Some(format!("{n}")),
            digest: "sha256:aa".into(),
            at: chrono::Utc::now(),
            address: "192.0.2.1".into(),
            count: 1,
        }
    }

    fn tags(r: &Recorder) -> Vec<String> {
        r.written
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.tag.clone().unwrap())
            .collect()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    /// A log writing to a new recorder: at most `capacity` pulls waiting,
    /// written `batch` at a time or `every` so often.
    fn spawned(
        capacity: usize,
        batch: usize,
        every: Duration,
    ) -> (Arc<Recorder>, mpsc::UnboundedReceiver<usize>, PullLog) {
        let (sink, writes) = recorder();
        let settings = Settings {
            capacity,
            batch,
            every,
            ..Settings::default()
        };
        (sink.clone(), writes, PullLog::spawn(sink, settings))
    }

    #[tokio::test]
    async fn full_batches_are_written_at_once_and_flush_writes_the_rest() {
        let (sink, mut writes, log) = spawned(100, 3, HOUR);
        for n in 0..7 {
            log.record(pull(n));
        }
        assert_eq!(next_write(&mut writes).await, 3);
        assert_eq!(next_write(&mut writes).await, 3);
        log.flush().await;
        assert_eq!(next_write(&mut writes).await, 1);
        assert_eq!(tags(&sink), ["0", "1", "2", "3", "4", "5", "6"]);
        // Nothing waiting: a flush writes nothing.
        log.flush().await;
        assert!(writes.try_recv().is_err());
        assert_eq!(log.dropped(), 0);
    }

    #[tokio::test]
    async fn the_timer_writes_a_partial_batch() {
        let (sink, mut writes, log) = spawned(100, 500, Duration::from_millis(20));
        log.record(pull(1));
        log.record(pull(2));
        let mut seen = next_write(&mut writes).await;
        if seen < 2 {
            // The tick may fall between the two.
            seen += next_write(&mut writes).await;
        }
        assert_eq!(seen, 2);
        assert_eq!(tags(&sink), ["1", "2"]);
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_waiting() {
        let (sink, mut writes, log) = spawned(2, 1, HOUR);
        let held = sink.gate.write().await;
        log.record(pull(0));
        // The writer is stuck writing pull 0: two more fit in the queue.
        assert_eq!(next_write(&mut writes).await, 1);
        for n in 1..=5 {
            log.record(pull(n));
        }
        assert_eq!(log.dropped(), 3);
        drop(held);
        log.flush().await;
        assert_eq!(tags(&sink), ["0", "1", "2"]);
    }

    #[tokio::test]
    async fn a_failed_write_is_kept_and_retried() {
        let (sink, mut writes, log) = spawned(100, 2, HOUR);
        sink.fail.store(true, Ordering::SeqCst);
        log.record(pull(1));
        log.record(pull(2));
        log.flush().await;
        // The full batch failed, and so did the flush's attempt.
        assert_eq!(next_write(&mut writes).await, 2);
        assert_eq!(next_write(&mut writes).await, 2);
        // Still failing: more pulls wait for the next tick or flush (no
        // attempt per pull).
        log.record(pull(3));
        log.record(pull(4));
        sink.fail.store(false, Ordering::SeqCst);
        log.flush().await;
        assert_eq!(next_write(&mut writes).await, 4);
        assert!(writes.try_recv().is_err());
        assert_eq!(tags(&sink), ["1", "2", "3", "4"]);
        assert_eq!(log.dropped(), 0);
    }

    fn vendor() -> Principal {
        Principal::Vendor {
            user_id: UserId::from(1),
            email: "a@acme.test".into(),
            role: domain::VendorRole::Admin,
            org_id: OrgId::from(1),
            org_slug: "acme".into(),
            org_name: "Acme".into(),
        }
    }

    fn customer(user: i64) -> Principal {
        Principal::Customer {
            user_id: UserId::from(user),
            email: "c@globex.test".into(),
            role: domain::CustomerRole::Member,
            org_id: OrgId::from(1),
            org_slug: "acme".into(),
            org_name: "Acme".into(),
            customer_id: CustomerId::from(9),
            customer_name: "Globex".into(),
        }
    }

    fn token(id: i64, principal: Principal) -> Arc<CachedToken> {
        Arc::new(CachedToken {
            token_id: TokenId::from(id),
            expires_at: None,
            principal,
        })
    }

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn manifest(d: &str) -> Arc<CachedManifest> {
        Arc::new(CachedManifest::new(
            1,
            d.into(),
            "application/vnd.oci.image.manifest.v1+json".into(),
            bytes::Bytes::from_static(b"{}"),
        ))
    }

    /// An index listing `children`.
    fn index(d: &str, children: &[&str]) -> Arc<CachedManifest> {
        let manifests: Vec<_> = children
            .iter()
            .map(|c| serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": c, "size": 2}))
            .collect();
        let content = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
        Arc::new(CachedManifest::new(
            1,
            d.into(),
            "application/vnd.oci.image.index.v1+json".into(),
            serde_json::to_vec(&content).unwrap().into(),
        ))
    }

    #[tokio::test]
    async fn customers_manifest_gets_are_recorded_vendors_are_not() {
        let (sink, _writes) = recorder();
        let log = PullLog::spawn(sink.clone(), Settings::default());
        let name = RepositoryName::parse("acme/charts/web").unwrap();
        let by_tag = Reference::parse("1.0").unwrap();
        let digest = digest('a');
        let by_digest = Reference::parse(&digest).unwrap();
        let m = manifest(&digest);
        let (vendor, customer) = (token(1, vendor()), token(2, customer(5)));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let get = |token, reference: &Reference, client| {
            ManifestGet::now(token, name.clone(), reference.clone(), &m, client)
        };
        log.record_manifest_pull(get(&vendor, &by_tag, Some(mapped)));
        log.record_manifest_pull(get(&customer, &by_tag, Some(mapped)));
        log.record_manifest_pull(get(&customer, &by_digest, None));
        log.flush().await;
        let written = sink.written.lock().unwrap().clone();
        assert_eq!(written.len(), 2, "only the customer's");
        let p = &written[0];
        assert_eq!(
            (
                p.org_id,
                p.customer_id,
                p.customer_name.as_str(),
                p.user_id,
                p.user_email.as_str()
            ),
            (
                OrgId::from(1),
                CustomerId::from(9),
                "Globex",
                UserId::from(5),
                "c@globex.test"
            )
        );
        assert_eq!(
            (p.artifact.as_str(), p.tag.as_deref(), p.digest.as_str()),
            ("charts/web", Some("1.0"), digest.as_str())
        );
        assert_eq!(p.address, "192.0.2.1", "an IPv4 client on an IPv6 socket");
        assert_eq!(
            (written[1].tag.as_deref(), written[1].address.as_str()),
            (None, "unknown")
        );
    }

    #[test]
    fn identical_pulls_in_one_second_are_one_row_with_a_count() {
        let name = RepositoryName::parse("acme/web").unwrap();
        let m = manifest(&digest('a'));
        let t0 = DateTime::parse_from_rfc3339("2026-11-30T12:00:00.100Z")
            .unwrap()
            .with_timezone(&Utc);
        let get = |user: i64, reference: &str, ms: i64, client: &str| ManifestGet {
            token: token(user, customer(user)),
            name: name.clone(),
            reference: Reference::parse(reference).unwrap(),
            manifest: m.clone(),
            at: t0 + chrono::Duration::milliseconds(ms),
            client: Some(client.parse().unwrap()),
        };
        let mut w = Waiting::default();
        for ms in [0, 10, 500, 899] {
            w.add_get(&get(5, "1.0", ms, "192.0.2.1"), None);
        }
        // Each differs from those in one thing: the next second, the tag,
        // the user, the address, pulled by digest (no tag).
        w.add_get(&get(5, "1.0", 900, "192.0.2.1"), None);
        w.add_get(&get(5, "2.0", 0, "192.0.2.1"), None);
        w.add_get(&get(6, "1.0", 0, "192.0.2.1"), None);
        w.add_get(&get(5, "1.0", 0, "2001:db8::1"), None);
        w.add_get(&get(5, &digest('a'), 0, "192.0.2.1"), None);
        // The same as the first four again (an IPv4 client on an IPv6
        // socket is the same address), and by digest resolved from 1.0.
        w.add_get(&get(5, "1.0", 300, "::ffff:192.0.2.1"), None);
        w.add_get(&get(5, &digest('a'), 400, "192.0.2.1"), Some("1.0".into()));
        let rows: Vec<(i64, Option<&str>, i64, &str, i64)> = w
            .rows
            .iter()
            .map(|p| {
                let ms = (p.at - t0).num_milliseconds();
                (
                    p.user_id.get(),
                    p.tag.as_deref(),
                    ms,
                    p.address.as_str(),
                    p.count,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (5, Some("1.0"), 0, "192.0.2.1", 6),
                (5, Some("1.0"), 900, "192.0.2.1", 1),
                (5, Some("2.0"), 0, "192.0.2.1", 1),
                (6, Some("1.0"), 0, "192.0.2.1", 1),
                (5, Some("1.0"), 0, "2001:db8::1", 1),
                (5, None, 0, "192.0.2.1", 1),
            ]
        );
        // Vendor users' GETs are not pulls.
        let mut vendor_get = get(5, "1.0", 0, "192.0.2.1");
        vendor_get.token = token(1, vendor());
        w.add_get(&vendor_get, None);
        assert_eq!(w.rows.iter().map(|p| p.count).sum::<i64>(), 11);
    }

    /// Feeds GETs to a `Folding` (a minute's window) and says which were pulls.
    struct Gets {
        folding: Folding,
        t0: DateTime<Utc>,
    }

    impl Gets {
        fn new() -> Self {
            Gets {
                folding: Folding::new(Duration::from_secs(60)),
                t0: Utc::now(),
            }
        }

        /// Whether a GET by `token` of `m` in `repo` by `reference`, `secs`
        /// after the start, is a pull.
        fn get(
            &mut self,
            token_id: i64,
            repo: &str,
            reference: &str,
            m: &Arc<CachedManifest>,
            secs: i64,
        ) -> bool {
            let get = self.at(token_id, repo, reference, m, secs);
            self.folding.is_pull(&get)
        }

        /// A HEAD by tag by `token` answering `m`, `secs` after the start.
        fn head(
            &mut self,
            token_id: i64,
            repo: &str,
            tag: &str,
            m: &Arc<CachedManifest>,
            secs: i64,
        ) {
            let head = self.at(token_id, repo, tag, m, secs);
            self.folding.resolve(&head);
        }

        /// The tag a GET by digest would be logged with.
        fn tag(
            &self,
            token_id: i64,
            repo: &str,
            m: &Arc<CachedManifest>,
            secs: i64,
        ) -> Option<String> {
            self.folding
                .tag_of(&self.at(token_id, repo, &m.digest, m, secs))
        }

        fn at(
            &self,
            token_id: i64,
            repo: &str,
            reference: &str,
            m: &Arc<CachedManifest>,
            secs: i64,
        ) -> ManifestGet {
            ManifestGet {
                token: token(token_id, customer(5)),
                name: RepositoryName::parse(repo).unwrap(),
                reference: Reference::parse(reference).unwrap(),
                manifest: m.clone(),
                at: self.t0 + chrono::Duration::seconds(secs),
                client: None,
            }
        }
    }

    #[test]
    fn a_get_by_digest_after_a_head_by_tag_is_a_pull_of_that_tag() {
        let (one, two) = (manifest(&digest('1')), manifest(&digest('2')));
        let repo = "acme/web";
        let mut g = Gets::new();
        // docker, helm and oras resolve the tag first, then GET by digest.
        g.head(1, repo, "1.0", &one, 0);
        assert_eq!(g.tag(1, repo, &one, 1).as_deref(), Some("1.0"));
        // The latest HEAD that answered the digest names it.
        g.head(1, repo, "latest", &one, 2);
        assert_eq!(g.tag(1, repo, &one, 3).as_deref(), Some("latest"));
        // Not another digest, token or repository, nor after the window.
        assert_eq!(g.tag(1, repo, &two, 3), None);
        assert_eq!(g.tag(2, repo, &one, 3), None);
        assert_eq!(g.tag(1, "acme/other", &one, 3), None);
        assert_eq!(g.tag(1, repo, &one, 2 + 61), None);
        // A GET by tag names its own tag; a HEAD by digest resolves nothing.
        let by_tag = g.at(1, repo, "2.0", &one, 4);
        assert_eq!(g.folding.tag_of(&by_tag), None);
        let mut g = Gets::new();
        let head = g.at(1, repo, &one.digest.clone(), &one, 0);
        g.folding.resolve(&head);
        assert_eq!(g.tag(1, repo, &one, 1), None);
        // Forgotten once the window closes.
        g.head(1, repo, "1.0", &one, 0);
        g.folding
            .close_before(g.t0 + chrono::Duration::seconds(100));
        assert!(g.folding.resolved.is_empty());
    }

    #[test]
    fn an_index_and_the_children_it_leads_to_are_one_pull() {
        let (amd, arm) = (digest('1'), digest('2'));
        let idx = index(&digest('9'), &[&amd, &arm]);
        let (amd_m, arm_m) = (manifest(&amd), manifest(&arm));
        let repo = "acme/web";
        let mut g = Gets::new();
        // One client pull: the index by tag, then its platform's child.
        assert!(g.get(1, repo, "1.0", &idx, 0));
        assert!(!g.get(1, repo, &amd, &amd_m, 1));
        // All platforms, one after the other: each extends the window.
        assert!(!g.get(1, repo, &arm, &arm_m, 50));
        assert!(!g.get(1, repo, &amd, &amd_m, 100));
        // The index again (by tag or by digest) is a new pull.
        assert!(g.get(1, repo, "1.0", &idx, 101));
        assert!(g.get(1, repo, &digest('9'), &idx, 102));
        assert!(!g.get(1, repo, &arm, &arm_m, 103));
        // A child by tag is a pull of its own; so is a child read with
        // another token, in another repository, or after the window.
        assert!(g.get(1, repo, "amd64", &amd_m, 104));
        assert!(g.get(2, repo, &amd, &amd_m, 104));
        assert!(g.get(1, "acme/other", &amd, &amd_m, 104));
        assert!(g.get(1, repo, &amd, &amd_m, 104 + 61));
        // A manifest the index does not list.
        assert!(g.get(1, repo, "1.0", &idx, 200));
        assert!(g.get(1, repo, &digest('3'), &manifest(&digest('3')), 201));
        // Without an index first, a manifest by digest is a pull.
        let mut g = Gets::new();
        assert!(g.get(1, repo, &amd, &amd_m, 0));
    }

    #[test]
    fn indexes_pulled_together_and_nested_indexes_stay_one_pull_each() {
        let repo = "acme/web";
        let (a, b, leaf) = (digest('a'), digest('b'), digest('c'));
        let inner = index(&digest('d'), &[&leaf]);
        let outer = index(&digest('e'), &[&digest('d')]);
        let other = index(&digest('f'), &[&b]);
        let mut g = Gets::new();
        // Two images at once with one token (docker compose pull).
        assert!(g.get(1, repo, "1.0", &outer, 0));
        assert!(g.get(1, repo, "2.0", &other, 0));
        assert!(!g.get(1, repo, &digest('d'), &inner, 1));
        assert!(!g.get(1, repo, &b, &manifest(&b), 1));
        // The inner index's child belongs to the outer pull too.
        assert!(!g.get(1, repo, &leaf, &manifest(&leaf), 2));
        assert!(g.get(1, repo, &a, &manifest(&a), 2));
        // Closed windows are forgotten.
        g.folding
            .close_before(g.t0 + chrono::Duration::seconds(100));
        assert!(g.folding.open.is_empty());
    }

    #[tokio::test]
    async fn the_writer_records_a_multi_platform_pull_once() {
        let (sink, _writes) = recorder();
        let log = PullLog::spawn(sink.clone(), Settings::default());
        let name = RepositoryName::parse("acme/web").unwrap();
        let child = digest('1');
        let idx = index(&digest('9'), &[&child]);
        let customer = token(2, customer(5));
        let by_tag = Reference::parse("1.0").unwrap();
        let by_digest = Reference::parse(&child).unwrap();
        log.record_manifest_pull(ManifestGet::now(
            &customer,
            name.clone(),
            by_tag,
            &idx,
            None,
        ));
        let child = manifest(&child);
        log.record_manifest_pull(ManifestGet::now(&customer, name, by_digest, &child, None));
        log.flush().await;
        let written = sink.written.lock().unwrap().clone();
        assert_eq!(written.len(), 1);
        assert_eq!(
            (written[0].tag.as_deref(), written[0].digest.as_str()),
            (Some("1.0"), idx.digest.as_str())
        );
    }

    #[tokio::test]
    async fn pulls_reach_the_database() {
        use domain::pulls::PullQuery;
        let dir = tempfile::tempdir().unwrap();
        let sqlite = domain::store::SqliteStore::open_file(&dir.path().join("t.db"))
            .await
            .unwrap();
        let store: DynStore = Arc::new(sqlite);
        let (org, _) = store
            .create_org_with_admin(
                domain::store::NewOrg {
                    slug: domain::OrgSlug::parse("acme").unwrap(),
                    name: domain::DisplayName::parse("Acme").unwrap(),
                    plan: domain::Plan::Community,
                    trial_ends_at: None,
                },
                domain::Email::parse("a@acme.test").unwrap(),
                "x".into(),
                false,
            )
            .await
            .unwrap();
        assert_eq!(org.id, OrgId::from(1));
        let log = PullLog::spawn(store.clone(), Settings::default());
        log.record(pull(1));
        log.record(pull(2));
        log.flush().await;
        let read = store
            .pulls(
                OrgId::from(1),
                &PullQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let tags: Vec<_> = read.iter().map(|p| p.tag.clone().unwrap()).collect();
        assert_eq!(tags, ["2", "1"], "newest first");
    }
}
