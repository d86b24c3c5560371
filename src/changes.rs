//! The change feed ([`domain::changes`]) across processes: the poll that
//! brings in the changes other processes committed (the `admin` CLI, other
//! instances) and the wait of writers outside a server. (The caches that
//! forget on a change are registered by `services::Services::new`.)
//!
//! With PostgreSQL a LISTEN connection wakes the poll as soon as a change
//! commits anywhere (each change-feed write notifies
//! [`domain::store::CHANGES_CHANNEL`] in its transaction); the poll stays as
//! the fallback, every [`LISTEN_FALLBACK`] and at once after the connection
//! was lost (sqlx's listener reconnects; what was announced meanwhile is in
//! the table). A writer on PostgreSQL returns once every live server has
//! applied its change (`PgStore::wait_for_readers`, set by `Config`).

use domain::store::DynStore;
use std::time::{Duration, Instant};

/// How often the `changes` table is read for other processes' writes: the
/// most a change made elsewhere waits before this instance applies it.
/// (This process's own writes apply before the writer answers, and the
/// `admin` CLI waits until running servers have applied its change.)
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The poll's period while a LISTEN connection wakes it.
pub const LISTEN_FALLBACK: Duration = Duration::from_secs(1);

/// A server that has not reported for this long is taken for dead: writers
/// in other processes stop waiting for it.
pub const ALIVE: Duration = Duration::from_secs(10);

/// The change-feed reader of one server process.
pub struct Poller {
    task: tokio::task::JoinHandle<()>,
    listener: Option<tokio::task::JoinHandle<()>>,
    store: DynStore,
    instance: String,
}

impl Poller {
    /// Stops polling and says so (writers elsewhere stop waiting for us).
    pub async fn stop(self) {
        self.task.abort();
        if let Some(l) = &self.listener {
            l.abort();
        }
        if let Err(e) = self.store.report_applied(&self.instance, None).await {
            tracing::warn!(error = %e, "unregistering from the change feed failed");
        }
    }
}

/// Starts polling the `changes` table from its current end, reporting how
/// far this server has applied it; `listen` (PostgreSQL) wakes the poll on
/// every notified change.
pub async fn spawn_poller(store: DynStore, listen: Option<sqlx::PgPool>) -> anyhow::Result<Poller> {
    let instance = uuid::Uuid::new_v4().to_string();
    let mut last = store.last_change_id().await?;
    store.change_hub().advance(last);
    store.report_applied(&instance, Some(last)).await?;
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let (period, listener) = match listen {
        Some(pool) => (
            LISTEN_FALLBACK,
            Some(tokio::spawn(listen_for_changes(pool, wake.clone()))),
        ),
        None => (POLL_INTERVAL, None),
    };
    let (s, me) = (store.clone(), instance.clone());
    let task = tokio::spawn(async move {
        let store = s;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reported = (last, Instant::now());
        let mut pruned = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = wake.notified() => {}
            }
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
        listener,
        store,
        instance,
    })
}

/// Wakes the poll for every change announced on the feed's channel, and
/// after a lost connection (the listener reconnects on its next receive).
async fn listen_for_changes(pool: sqlx::PgPool, wake: std::sync::Arc<tokio::sync::Notify>) {
    let mut listener = loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(domain::store::CHANGES_CHANNEL).await {
                Ok(()) => break l,
                Err(e) => tracing::warn!(error = %e, "LISTEN for the change feed failed"),
            },
            Err(e) => tracing::warn!(error = %e, "connecting to LISTEN for the change feed failed"),
        }
        // Meanwhile the poll runs at its fallback period.
        tokio::time::sleep(LISTEN_FALLBACK).await;
    };
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => wake.notify_one(),
            // The connection was lost; the next receive reconnects. What
            // was announced meanwhile is read now.
            Ok(None) => wake.notify_one(),
            Err(e) => {
                tracing::warn!(error = %e, "the change feed's LISTEN connection failed");
                wake.notify_one();
                tokio::time::sleep(LISTEN_FALLBACK).await;
            }
        }
    }
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
