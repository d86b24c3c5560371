//! The pull log's writer (SPEC §6): a customer's manifest pull is handed to
//! [`PullLog::record`], which never waits, and a background task writes what
//! has come in batches: when [`Settings::batch`] pulls are waiting, and every
//! [`Settings::every`] otherwise. [`PullLog::flush`] writes what is waiting
//! now (tests await it; shutdown calls it).
//!
//! The queue is bounded: when the database falls that far behind, further
//! pulls are dropped and counted (with a warning), rather than slowing down
//! or piling up in memory. A batch that fails to be written is kept and
//! retried at the next tick (up to the queue's size).

use domain::oci::{Reference, RepositoryName};
use domain::pulls::NewPull;
use domain::store::{DynStore, StoreResult};
use domain::Principal;
use futures::future::BoxFuture;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            capacity: 10_000,
            batch: 500,
            every: Duration::from_secs(1),
        }
    }
}

enum Msg {
    Pull(NewPull),
    Flush(oneshot::Sender<()>),
}

/// The handle the registry records pulls with.
pub struct PullLog {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl PullLog {
    /// Starts the background writer (needs a Tokio runtime).
    pub fn spawn(sink: impl PullSink, settings: Settings) -> Self {
        let (tx, rx) = mpsc::channel(settings.capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(sink, rx, settings, dropped.clone()));
        PullLog { tx, dropped }
    }

    /// Queues a pull; never waits. When the queue is full the pull is
    /// dropped and counted.
    pub fn record(&self, pull: NewPull) {
        if self.tx.try_send(Msg::Pull(pull)).is_err() {
            count_dropped(&self.dropped, 1);
        }
    }

    /// Records a manifest GET (HEAD requests are not pulls: clients send
    /// them to check what a tag points to). Only customer users' pulls are
    /// logged; a vendor's own pulls are not.
    pub fn record_manifest_pull(
        &self,
        principal: &Principal,
        name: &RepositoryName,
        reference: &Reference,
        digest: &str,
        client: Option<IpAddr>,
    ) {
        let Principal::Customer {
            user_id,
            email,
            org_id,
            customer_id,
            customer_name,
            ..
        } = principal
        else {
            return;
        };
        self.record(NewPull {
            org_id: *org_id,
            customer_id: *customer_id,
            customer_name: customer_name.clone(),
            user_id: *user_id,
            user_email: email.clone(),
            artifact: name.artifact().to_owned(),
            tag: match reference {
                Reference::Tag(t) => Some(t.as_str().to_owned()),
                Reference::Digest(_) => None,
            },
            digest: digest.to_owned(),
            at: chrono::Utc::now(),
            address: client
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_canonical().to_string()),
        });
    }

    /// Writes every pull recorded before this call (one attempt: a failed
    /// write stays queued for the next tick).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// How many pulls were dropped since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
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

async fn run(
    sink: impl PullSink,
    mut rx: mpsc::Receiver<Msg>,
    settings: Settings,
    dropped: Arc<AtomicU64>,
) {
    let mut waiting: Vec<NewPull> = Vec::with_capacity(settings.batch);
    // (The first tick one period from now, not at once.)
    let start = tokio::time::Instant::now() + settings.every;
    let mut tick = tokio::time::interval_at(start, settings.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // After a failed write, wait for the tick rather than retry on every pull.
    let mut failing = false;
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Pull(p)) => {
                    waiting.push(p);
                    if waiting.len() >= settings.batch && !failing {
                        failing = !write(&sink, &mut waiting, &settings, &dropped).await;
                    }
                }
                Some(Msg::Flush(done)) => {
                    failing = !write(&sink, &mut waiting, &settings, &dropped).await;
                    let _ = done.send(());
                }
                None => {
                    write(&sink, &mut waiting, &settings, &dropped).await;
                    return;
                }
            },
            _ = tick.tick() => {
                failing = !write(&sink, &mut waiting, &settings, &dropped).await;
            }
        }
    }
}

/// Writes what is waiting; `false` when that failed (it stays waiting,
/// trimmed to the queue's size).
async fn write(
    sink: &impl PullSink,
    waiting: &mut Vec<NewPull>,
    settings: &Settings,
    dropped: &AtomicU64,
) -> bool {
    if waiting.is_empty() {
        return true;
    }
    match sink.write(waiting).await {
        Ok(()) => {
            waiting.clear();
            true
        }
        Err(e) => {
            tracing::error!(error = %e, pulls = waiting.len(), "writing the pull log failed; will retry");
            if waiting.len() > settings.capacity {
                let excess = waiting.len() - settings.capacity;
                waiting.drain(..excess);
                count_dropped(dropped, excess as u64);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::store::StoreError;
    use domain::{CustomerId, OrgId, UserId};
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;
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

    #[tokio::test]
    async fn full_batches_are_written_at_once_and_flush_writes_the_rest() {
        let (sink, mut writes) = recorder();
        let log = PullLog::spawn(
            sink.clone(),
            Settings {
                capacity: 100,
                batch: 3,
                every: HOUR,
            },
        );
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
        let (sink, mut writes) = recorder();
        let log = PullLog::spawn(
            sink.clone(),
            Settings {
                capacity: 100,
                batch: 500,
                every: Duration::from_millis(20),
            },
        );
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
        let (sink, mut writes) = recorder();
        let log = PullLog::spawn(
            sink.clone(),
            Settings {
                capacity: 2,
                batch: 1,
                every: HOUR,
            },
        );
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
        let (sink, mut writes) = recorder();
        let log = PullLog::spawn(
            sink.clone(),
            Settings {
                capacity: 100,
                batch: 2,
                every: HOUR,
            },
        );
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

    #[tokio::test]
    async fn customers_manifest_gets_are_recorded_vendors_are_not() {
        let (sink, _writes) = recorder();
        let log = PullLog::spawn(sink.clone(), Settings::default());
        let name = RepositoryName::parse("acme/charts/web").unwrap();
        let by_tag = Reference::parse("1.0").unwrap();
        let digest = format!("sha256:{}", "a".repeat(64));
        let by_digest = Reference::parse(&digest).unwrap();
        let vendor = Principal::Vendor {
            user_id: UserId::from(1),
            email: "a@acme.test".into(),
            role: domain::VendorRole::Admin,
            org_id: OrgId::from(1),
            org_slug: "acme".into(),
            org_name: "Acme".into(),
        };
        let customer = Principal::Customer {
            user_id: UserId::from(5),
            email: "c@globex.test".into(),
            role: domain::CustomerRole::Member,
            org_id: OrgId::from(1),
            org_slug: "acme".into(),
            org_name: "Acme".into(),
            customer_id: CustomerId::from(9),
            customer_name: "Globex".into(),
        };
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        log.record_manifest_pull(&vendor, &name, &by_tag, &digest, Some(mapped));
        log.record_manifest_pull(&customer, &name, &by_tag, &digest, Some(mapped));
        log.record_manifest_pull(&customer, &name, &by_digest, &digest, None);
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
