//! Upstream mirroring (SPEC §6, issue 14): the sync engine.
//!
//! Each server runs one engine. It looks for due upstreams when woken
//! (created, "Sync now") and every few seconds, takes an upstream's lease
//! in the database (a conditional update with an expiry, renewed while the
//! sync runs: one sync per upstream across every instance) and copies with
//! `oci-client` ([`sync`]): the selected tags' manifests, index children,
//! config and layer blobs (streamed into blob storage, those already here
//! skipped, a bounded number at once, transient failures retried with
//! backoff) and referrers. Manifests are stored through the registry's own
//! push path, so a mirrored artifact is like a pushed one.
//!
//! Every connection a sync opens goes through its egress proxy
//! ([`guard`]), which checks the address it connects to: link-local and
//! metadata addresses always refused, loopback and private ones unless
//! `PORTCULLIS_UPSTREAM_ALLOW_PRIVATE=true`; redirects and token realms
//! included, and pinned (no second lookup between check and connect).

pub mod error;
pub mod guard;
mod sync;

use crate::registry::Registry;
use domain::UpstreamId;
use services::Services;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the engine looks for due upstreams without being woken.
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// A lease lasts this long and is renewed at a third of it.
pub const LEASE_SECONDS: i64 = 60;
/// Blob transfers at once, across all syncs of this process.
pub const TRANSFERS: usize = 4;

/// The engine of one process.
pub struct Engine {
    ctx: Services,
    registry: Arc<Registry>,
    /// This process, as the lease owner.
    owner: String,
    running: Mutex<HashSet<UpstreamId>>,
    transfers: Arc<tokio::sync::Semaphore>,
}

/// Starts the engine; it stops when `shutdown` is cancelled.
pub fn spawn(
    ctx: Services,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let engine = Arc::new(Engine {
        ctx,
        registry,
        owner: format!("{}", uuid::Uuid::new_v4()),
        running: Mutex::default(),
        transfers: Arc::new(tokio::sync::Semaphore::new(TRANSFERS)),
    });
    tokio::spawn(async move {
        loop {
            engine.clone().look().await;
            tokio::select! {
                _ = engine.ctx.upstreams.wake.notified() => {}
                _ = tokio::time::sleep(LOOK_EVERY) => {}
                _ = shutdown.cancelled() => break,
            }
        }
    })
}

impl Engine {
    /// Starts a sync of each due upstream whose lease this process gets.
    async fn look(self: Arc<Self>) {
        let now = self.ctx.clock.now().timestamp();
        let due = match self.ctx.store.due_upstreams(now, 32).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "mirror: cannot read due upstreams");
                return;
            }
        };
        for id in due {
            if self
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&id)
            {
                continue;
            }
            match self
                .ctx
                .store
                .take_upstream_lease(id, &self.owner, now, now + LEASE_SECONDS)
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, upstream = %id, "mirror: cannot take the lease");
                    continue;
                }
            }
            self.running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id);
            let me = self.clone();
            tokio::spawn(async move {
                me.run(id).await;
                me.running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
            });
        }
    }

    /// One sync of `id`, holding its lease: renewed, with the progress
    /// written, every few seconds until it ends.
    async fn run(self: &Arc<Self>, id: UpstreamId) {
        let record = match self.ctx.store.upstream_by_id(id).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, upstream = %id, "mirror: cannot read the upstream");
                return;
            }
        };
        let progress = Arc::new(sync::Progress::default());
        let job = sync::Job::new(
            &self.ctx,
            &self.registry,
            &record,
            progress.clone(),
            self.transfers.clone(),
        )
        .await;
        let work = async {
            match job {
                Ok(job) => job.run().await,
                Err(e) => sync::Finished::failed(e),
            }
        };
        tokio::pin!(work);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_renewal = tokio::time::Instant::now();
        let mut written = (0, 0, 0);
        let finished = loop {
            tokio::select! {
                f = &mut work => break f,
                _ = tick.tick() => {
                    let now_at = progress.read();
                    if now_at != written {
                        written = now_at;
                        let (done, total, bytes) = now_at;
                        let _ = self.ctx.store.set_sync_progress(id, &self.owner, done, total, bytes).await;
                    }
                    if last_renewal.elapsed() >= Duration::from_secs((LEASE_SECONDS / 3) as u64) {
                        last_renewal = tokio::time::Instant::now();
                        let now = self.ctx.clock.now().timestamp();
                        match self.ctx.store.take_upstream_lease(id, &self.owner, now, now + LEASE_SECONDS).await {
                            Ok(true) => {}
                            // Lost (this process stalled past the lease):
                            // another instance may be syncing; stop.
                            Ok(false) => {
                                tracing::warn!(upstream = %id, "mirror: lease lost, stopping this sync");
                                return;
                            }
                            Err(e) => tracing::warn!(error = %e, upstream = %id, "mirror: cannot renew the lease"),
                        }
                    }
                }
            }
        };
        let (done, total, bytes) = progress.read();
        let _ = self
            .ctx
            .store
            .set_sync_progress(id, &self.owner, done, total, bytes)
            .await;
        let now = self.ctx.clock.now();
        let outcome = domain::store::SyncOutcome {
            error: finished.error.clone(),
            tags_synced: finished.tags,
            at: now,
            next_sync_at: now.timestamp() + record.view.interval_minutes * 60,
        };
        match &outcome.error {
            None => {
                tracing::info!(upstream = %id, artifact = %record.view.artifact, bytes, "mirror: synced")
            }
            Some(e) => {
                tracing::warn!(upstream = %id, artifact = %record.view.artifact, error = %e, "mirror: sync failed")
            }
        }
        if let Err(e) = self.ctx.store.finish_sync(id, &self.owner, &outcome).await {
            tracing::warn!(error = %e, upstream = %id, "mirror: cannot record the sync's end");
        }
    }
}
