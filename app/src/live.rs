//! Live updates (SPEC §3 "Real time"). The server pushes an event on
//! `GET /events` (server-sent events) when what the signed-in user looks at
//! changed. A page that updates live renders [`LiveRefresh`]: in the browser
//! one `EventSource` per document (the [`LiveConnection`] island) turns each
//! event that concerns the page into a fresh render of the page from the
//! server, patched into the document in place by public/router.js (what
//! the user typed and where they are stay). Without JavaScript nothing
//! connects and pages are as rendered.
//!
//! The page's HTML carries the change-feed position its data was read at
//! ([`AFTER_META`]); the first connection asks for what changed after it,
//! so a change between rendering and connecting is not lost. After a
//! dropped connection `EventSource` reconnects by itself (the server asks
//! for a one-second retry) and the page is fetched again once, since events
//! may have been missed meanwhile.

use domain::CustomerId;
use leptos::prelude::*;

/// The `<meta name>` holding the change-feed position the page was
/// rendered at (a change id).
pub const AFTER_META: &str = "portcullis-live-after";

pub use domain::live::{LiveEvent, LiveKind};

/// Marks the page as one that updates live: on every event (or, with
/// `customer`, every event about that customer or about no customer in
/// particular) the page is rendered again and patched in place. The
/// marker is plain HTML, so a page reached in place replaces it and the
/// one connection follows what the current page wants.
#[component]
pub fn LiveRefresh(#[prop(optional)] customer: Option<CustomerId>) -> impl IntoView {
    view! {
        <span hidden data-live-page="" data-customer=customer.map(|c| c.to_string()).unwrap_or_default()></span>
        <LiveConnection/>
    }
}

/// Whether an event about `event_customer` concerns a page that follows
/// `page_customer` ("" for every event).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn concerns(page_customer: &str, event_customer: Option<CustomerId>) -> bool {
    match event_customer {
        None => true,
        Some(c) => page_customer.is_empty() || page_customer == c.to_string(),
    }
}

/// The document's one live-update connection (an island with no view of
/// its own).
#[island]
fn LiveConnection() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    connect();
}

#[cfg(feature = "hydrate")]
thread_local! {
    static STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Renders the current page again and patches it in place, keeping what
/// the user has typed or opened (public/router.js answers the event).
#[cfg(feature = "hydrate")]
fn refresh() {
    if let Some(w) = web_sys::window() {
        if let Ok(ev) = web_sys::Event::new("portcullis:refresh") {
            let _ = w.dispatch_event(&ev);
        }
    }
}

/// The customer the current page follows, or `None` when the page does
/// not update live.
#[cfg(feature = "hydrate")]
fn page_customer() -> Option<String> {
    let marker = web_sys::window()?
        .document()?
        .query_selector("[data-live-page]")
        .ok()??;
    Some(marker.get_attribute("data-customer").unwrap_or_default())
}

/// Whether the router is fetching a page the user asked for: the page on
/// screen is about to go, so an event asks for a refresh anyway, which the
/// router runs on the new page if that one updates live.
#[cfg(feature = "hydrate")]
fn visiting() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .is_some_and(|root| root.has_attribute("data-visiting"))
}

#[cfg(feature = "hydrate")]
fn connect() {
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    if STARTED.with(|s| s.replace(true)) {
        return;
    }
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
    // The connection's state, on <body data-live> (for tests and styles).
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
                // Signed out elsewhere: stop, and let the page guard send
                // this tab to the sign-in page.
                source.close();
                mark("closed");
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
                return;
            }
            if visiting() || page_customer().is_some_and(|page| concerns(&page, event.customer_id))
            {
                refresh();
            }
        })
    };
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();

    let opened_before = Rc::new(Cell::new(false));
    let on_open = Closure::<dyn Fn()>::new(move || {
        mark("connected");
        // A reconnection: whatever happened while the connection was
        // down was not pushed, so render the page once more.
        if opened_before.replace(true) && page_customer().is_some() {
            refresh();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_follows_its_customer_and_everyone() {
        let three = Some(CustomerId::from(3));
        assert!(concerns("", three));
        assert!(concerns("", None));
        assert!(concerns("3", three));
        assert!(concerns("3", None));
        assert!(!concerns("4", three));
    }

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
