//! The change feed ([`domain::changes`]) across processes: the poll that
//! brings in the changes other processes committed (the `admin` CLI, other
//! instances) and the wait of writers outside a server. (The caches that
//! forget on a change are registered by `services::Services::new`.)

use domain::store::DynStore;
use std::time::{Duration, Instant};

/// How often the `changes` table is read for other processes' writes: the
/// most a change made elsewhere waits before this instance applies it.
/// (This process's own writes apply before the writer answers, and the
/// `admin` CLI waits until running servers have applied its change.)
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A server that has not reported for this long is taken for dead: writers
/// in other processes stop waiting for it.
pub const ALIVE: Duration = Duration::from_secs(10);

/// The change-feed reader of one server process.
pub struct Poller {
    task: tokio::task::JoinHandle<()>,
    store: DynStore,
    instance: String,
}

impl Poller {
    /// Stops polling and says so (writers elsewhere stop waiting for us).
    pub async fn stop(self) {
        self.task.abort();
        if let Err(e) = self.store.report_applied(&self.instance, None).await {
            tracing::warn!(error = %e, "unregistering from the change feed failed");
        }
    }
}

/// Starts polling the `changes` table from its current end, reporting how
/// far this server has applied it.
pub async fn spawn_poller(store: DynStore) -> anyhow::Result<Poller> {
    let instance = uuid::Uuid::new_v4().to_string();
    let mut last = store.last_change_id().await?;
    store.change_hub().advance(last);
    store.report_applied(&instance, Some(last)).await?;
    let (s, me) = (store.clone(), instance.clone());
    let task = tokio::spawn(async move {
        let store = s;
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reported = (last, Instant::now());
        let mut pruned = Instant::now();
        loop {
            tick.tick().await;
            match store.changes_since(last, 1000).await {
                Ok(changes) => {
                    for c in changes {
                        last = c.id;
                        store.change_hub().publish(c);
                    }
                    store.change_hub().advance(last);
                }
                Err(e) => tracing::warn!(error = %e, "reading the change feed failed"),
            }
            // A write only when there is news, or as a heartbeat.
            if reported.0 != last || reported.1.elapsed() >= ALIVE / 3 {
                match store.report_applied(&me, Some(last)).await {
                    Ok(()) => reported = (last, Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "reporting to the change feed failed"),
                }
            }
            if pruned.elapsed() >= Duration::from_secs(3600) {
                pruned = Instant::now();
                if let Err(e) = store.prune_changes().await {
                    tracing::warn!(error = %e, "pruning the change feed failed");
                }
            }
        }
    });
    Ok(Poller {
        task,
        store,
        instance,
    })
}

/// For writers outside a server (the `admin` CLI): waits until every live
/// server has applied the feed up to its newest change, so the change is in
/// effect on the very next request when the command returns. Gives up after
/// `timeout` (a server that stopped reporting is not waited for).
pub async fn wait_until_applied(store: &DynStore, timeout: Duration) -> anyhow::Result<bool> {
    let id = store.last_change_id().await?;
    let deadline = Instant::now() + timeout;
    loop {
        let alive_since = chrono::Utc::now() - chrono::Duration::from_std(ALIVE)?;
        if store.all_applied(id, alive_since).await? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(POLL_INTERVAL / 5).await;
    }
}
