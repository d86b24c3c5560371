//! Wiring of the change feed ([`domain::changes`]) in the server: the caches
//! that forget on a change, and the poll that brings in the changes other
//! processes committed (the `admin` CLI, other instances).

use app::ssr::ServerCtx;
use domain::changes::ChangeKind;
use domain::store::DynStore;
use std::time::Duration;

/// How often the `changes` table is read for other processes' writes: the
/// most a change made elsewhere waits before this instance applies it.
/// (This process's own writes apply before the writer answers.)
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Registers the caches' eviction on the store's change hub.
pub fn listen(ctx: &ServerCtx) {
    let hub = ctx.store.change_hub();
    let access = ctx.access.clone();
    hub.listen(move |c| access.apply(c));
    let tokens = ctx.tokens.clone();
    hub.listen(move |c| match (c.kind, c.user_id, c.customer_id) {
        (ChangeKind::UserChanged | ChangeKind::TokenRevoked, Some(user), _) => {
            tokens.invalidate_user(user)
        }
        (ChangeKind::CustomerRemoved, _, Some(customer)) => tokens.invalidate_customer(customer),
        _ => {}
    });
}

/// Starts polling the `changes` table from its current end.
pub async fn spawn_poller(store: DynStore) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut last = store.last_change_id().await?;
    store.change_hub().advance(last);
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut polls: u64 = 0;
        loop {
            tick.tick().await;
            polls += 1;
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
            // About hourly: forget changes every instance has long seen.
            if polls.is_multiple_of(36_000) {
                if let Err(e) = store.prune_changes().await {
                    tracing::warn!(error = %e, "pruning the change feed failed");
                }
            }
        }
    }))
}
