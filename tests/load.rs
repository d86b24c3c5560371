//! A bounded load test on loopback: many concurrent customer pulls while the
//! vendor creates and deletes entitlements. No request may fail with a 5xx;
//! a pull sent after a deletion was answered (committed) must be refused and
//! one sent after a creation was answered must succeed, unless the vendor
//! changed something else while that pull was in flight. And pages keep
//! answering while other servers start in the same process.

mod common;

use common::registry::{sha256, Reg};
use common::TestApp;
use reqwest::Method;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const ADMIN: &str = "a@acme.test";
const ROUNDS: usize = 25;
const PULLERS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Event {
    /// The grant is committed (the create call answered).
    Granted,
    /// A delete call was sent: from here either answer is fine.
    Revoking,
    /// The revocation is committed (the delete call answered).
    Revoked,
    /// A create call was sent.
    Granting,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pulls_under_entitlement_churn() {
    let app = TestApp::spawn();
    app.create_pro_org("acme", ADMIN, "admin password");
    let vendor = app.reg(ADMIN);
    vendor.push_image("acme/web", "1.0", &[b"the layer"]).await;
    let api = app.api(&app.token(ADMIN, &[]));
    let mut customers = vec![];
    for name in ["Target", "Churn", "Anchor"] {
        customers.push(api.create_customer(name).await);
    }
    // The org always has an entitlement (so rule 2 applies throughout).
    let (s, _) = api
        .send(
            Method::POST,
            &format!("/api/v1/customers/{}/entitlements", customers[2]),
            Some(json!({"name": "anchor", "artifacts": [{"artifact": "web", "tags": ["1.0"]}]})),
        )
        .await;
    assert_eq!(s, 201);
    let email = "t@target.test";
    let (s, _) = api
        .send(
            Method::POST,
            &format!("/api/v1/customers/{}/users", customers[0]),
            Some(json!({"email": email, "password": "target password", "role": "member"})),
        )
        .await;
    assert_eq!(s, 201);
    let customer = app.reg(email);
    let layer = sha256(b"the layer");

    let timeline: Arc<Mutex<Vec<(Instant, Event)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let mut pullers = vec![];
    for n in 0..PULLERS {
        let customer = customer.clone();
        let done = done.clone();
        let path = if n % 3 == 0 {
            format!("/v2/acme/web/blobs/{layer}")
        } else {
            "/v2/acme/web/manifests/1.0".to_owned()
        };
        pullers.push(tokio::spawn(async move {
            let mut seen = vec![];
            while !done.load(Ordering::Acquire) {
                let sent = Instant::now();
                let status = customer.status(Method::GET, &path).await;
                seen.push((sent, Instant::now(), status, path.clone()));
            }
            seen
        }));
    }
    // Churn elsewhere in the org meanwhile: another customer's entitlement
    // comes and goes (org facts and caches are evicted each time).
    let churn = {
        let (done, api, churn_customer) = (done.clone(), api.clone(), customers[1]);
        tokio::spawn(async move {
            let mut n = 0;
            while !done.load(Ordering::Acquire) {
                n += 1;
                let id = api
                    .entitle(
                        churn_customer,
                        json!({"name": format!("churn {n}"), "artifacts": [{"artifact": "web", "tags": ["1.0"]}]}),
                    )
                    .await;
                let (s, _) = api
                    .send(Method::DELETE, &format!("/api/v1/entitlements/{id}"), None)
                    .await;
                assert_eq!(s, 204);
            }
            n
        })
    };
    for round in 0..ROUNDS {
        let mark = |e| timeline.lock().unwrap().push((Instant::now(), e));
        mark(Event::Granting);
        let (s, e) = api
            .send(
                Method::POST,
                &format!("/api/v1/customers/{}/entitlements", customers[0]),
                Some(json!({"name": format!("round {round}"), "artifacts": [{"artifact": "web", "tags": "all"}]})),
            )
            .await;
        assert_eq!(s, 201, "{e}");
        mark(Event::Granted);
        pace(&customer, 20).await;
        mark(Event::Revoking);
        api.delete_entitlement(&e["id"]).await;
        mark(Event::Revoked);
        pace(&customer, 20).await;
    }
    done.store(true, Ordering::Release);
    let churned = churn.await.unwrap();
    let timeline = timeline.lock().unwrap().clone();
    let (mut total, mut granted_ok, mut revoked_refused) = (0, 0, 0);
    for p in pullers {
        for (sent, received, status, path) in p.await.unwrap() {
            total += 1;
            assert!(status < 500, "{path}: {status}");
            // What the vendor had committed when this request was sent, if
            // nothing changed while it was in flight.
            if timeline.iter().any(|(at, _)| sent < *at && *at <= received) {
                assert!(status == 200 || status == 404, "{path}: {status}");
                continue;
            }
            let state = timeline
                .iter()
                .rev()
                .find(|(at, _)| *at <= sent)
                .map(|(_, e)| *e);
            match state {
                Some(Event::Granted) => {
                    assert_eq!(status, 200, "{path} refused while granted");
                    granted_ok += 1;
                }
                Some(Event::Revoked) | None => {
                    assert_eq!(status, 404, "{path} served after the revocation committed");
                    revoked_refused += 1;
                }
                Some(Event::Granting | Event::Revoking) => {
                    assert!(status == 200 || status == 404, "{path}: {status}")
                }
            }
        }
    }
    eprintln!(
        "{total} pulls ({granted_ok} while granted, {revoked_refused} after revocation), {churned} churn cycles"
    );
    assert!(granted_ok > ROUNDS * 10 && revoked_refused > ROUNDS * 10);
}

/// Paces the vendor between two changes by `n` round trips of its own
/// (the pullers keep going meanwhile); no timers involved.
async fn pace(reg: &Reg, n: usize) {
    for _ in 0..n {
        reg.send(Method::GET, "/v2/").await;
    }
}

/// Pages answer while other servers start in the same process (as the
/// in-process test servers do). Starting a server generates the app's route
/// list, which runs the app with Leptos resource loading suppressed by a
/// process-wide flag; a page whose data first loaded meanwhile waited
/// forever (leptos-rs/leptos#4773: one CI run's page request timed out). The
/// list is generated once per process (`server::page_routes`), so every page
/// here answers while sixteen servers start and stop beside it.
#[tokio::test]
async fn pages_answer_while_other_servers_start_beside_them() {
    let app = TestApp::start();
    app.create_org("acme", ADMIN, "admin password");
    let web = app.signed_in(ADMIN, "admin password").await;
    let starter = std::thread::spawn(|| {
        for _ in 0..16 {
            drop(TestApp::start());
        }
    });
    // Pages for as long as servers start (at least one).
    loop {
        let page = app.get(&web, "/licenses").await;
        assert_eq!(page.status, 200);
        assert!(page.text.contains("No customers yet"), "{}", page.text);
        if starter.is_finished() {
            break;
        }
    }
    starter.join().unwrap();
}
