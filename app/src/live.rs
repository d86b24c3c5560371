//! Live updates (SPEC §3 "Real time"). The server pushes an event on
//! `GET /events` (server-sent events) when what the signed-in user looks at
//! changed; in the browser one `EventSource` per page load turns each event
//! into a bump of a signal, and the pages' resources that depend on it
//! refetch. Without JavaScript nothing connects and pages are as rendered.
//!
//! The page's HTML carries the change-feed position its data was read at
//! ([`AFTER_META`]); the first connection asks for what changed after it,
//! so a change between rendering and connecting is not lost. After a
//! dropped connection `EventSource` reconnects by itself (the server asks
//! for a one-second retry) and the pages refetch once, since events may
//! have been missed meanwhile.

use domain::CustomerId;
use leptos::prelude::*;

/// The `<meta name>` holding the change-feed position the page was
/// rendered at (a change id).
pub const AFTER_META: &str = "portcullis-live-after";

pub use domain::live::{LiveEvent, LiveKind};

/// The last event seen, numbered.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Tick {
    seq: u64,
    customer: Option<CustomerId>,
}

/// Provided once for the whole app; see [`use_changes`].
#[derive(Clone, Copy)]
pub struct LiveUpdates {
    tick: RwSignal<Tick>,
    /// Whether this page's `EventSource` is open (hydrated only).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    started: StoredValue<bool>,
}

pub fn provide_live_updates() {
    provide_context(LiveUpdates {
        tick: RwSignal::new(Tick::default()),
        started: StoredValue::new(false),
    });
}

fn live() -> Option<LiveUpdates> {
    let live = use_context::<LiveUpdates>()?;
    live.connect();
    Some(live)
}

/// A number that grows whenever what the signed-in user sees may have
/// changed: make a resource depend on it to refetch live. Opens the
/// connection on first use (hydrated only; on the server it stays 0).
pub fn use_changes() -> Signal<u64> {
    match live() {
        Some(l) => Signal::derive(move || l.tick.get().seq),
        None => Signal::stored(0),
    }
}

/// Like [`use_changes`], but only for events about `customer` (or about
/// everything): a vendor page about one customer.
pub fn use_customer_changes(
    customer: impl Fn() -> Option<CustomerId> + Send + Sync + 'static,
) -> Signal<u64> {
    let Some(l) = live() else {
        return Signal::stored(0);
    };
    let relevant = Memo::new(move |prev: Option<&u64>| {
        let t = l.tick.get();
        let mine = t.customer.is_none() || t.customer == customer();
        if t.seq == 0 || mine {
            t.seq
        } else {
            prev.copied().unwrap_or(0)
        }
    });
    relevant.into()
}

impl LiveUpdates {
    /// Bumps the tick, as if `customer` (or everything) had changed.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn bump(self, customer: Option<CustomerId>) {
        self.tick.update(|t| {
            t.seq += 1;
            t.customer = customer;
        });
    }

    #[cfg(not(feature = "hydrate"))]
    fn connect(self) {}

    /// Opens the page's `EventSource` (once).
    #[cfg(feature = "hydrate")]
    fn connect(self) {
        use std::cell::Cell;
        use std::rc::Rc;
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;

        if self.started.get_value() {
            return;
        }
        self.started.set_value(true);
        let Some(window) = web_sys::window() else {
            return;
        };
        let document = window.document();
        let after = document
            .as_ref()
            .and_then(|d| {
                d.query_selector(&format!("meta[name=\"{AFTER_META}\"]"))
                    .ok()
                    .flatten()
            })
            .and_then(|m| m.get_attribute("content"))
            .filter(|s| s.parse::<i64>().is_ok());
        let url = match after {
            Some(id) => format!("/events?after={id}"),
            None => "/events".to_owned(),
        };
        let Ok(source) = web_sys::EventSource::new(&url) else {
            return;
        };
        // A marker for tests and styles: `connected`, `reconnecting`, `closed`.
        let mark = move |state: &str| {
            if let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
            {
                let _ = body.set_attribute("data-live", state);
            }
        };

        let on_message = {
            let source = source.clone();
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let data = ev.data().as_string().unwrap_or_default();
                let Ok(event) = serde_json::from_str::<LiveEvent>(&data) else {
                    return;
                };
                if event.kind == LiveKind::SignedOut {
                    source.close();
                    mark("closed");
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().reload();
                    }
                    return;
                }
                self.bump(event.customer_id);
            })
        };
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let opened_before = Rc::new(Cell::new(false));
        let on_open = Closure::<dyn Fn()>::new(move || {
            mark("connected");
            // A reconnection: whatever happened while the connection was
            // down was not pushed, so refetch once.
            if opened_before.replace(true) {
                self.bump(None);
            }
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let on_error = {
            let source = source.clone();
            Closure::<dyn Fn()>::new(move || {
                // CONNECTING: the browser retries by itself. CLOSED: the
                // server refused (signed out); nothing more to do.
                if source.ready_state() == web_sys::EventSource::CLOSED {
                    mark("closed");
                } else {
                    mark("reconnecting");
                }
            })
        };
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_small_json() {
        let e = LiveEvent {
            kind: LiveKind::Entitlements,
            customer_id: Some(CustomerId::from(3)),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"kind":"entitlements","customer_id":3}"#);
        assert_eq!(serde_json::from_str::<LiveEvent>(&json).unwrap(), e);
    }
}
