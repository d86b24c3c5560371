//! What an unauthenticated caller can make the server do (issue 10, §2 and
//! §3): argon2 work is counted, bounded and refused early; redirect targets
//! are safe local paths; first run over the network needs the set-up code.

mod common;

use common::{client, location, TestApp};
use serde_json::json;
use std::time::{Duration, Instant};

/// Resident memory the server may reach under the bursts below.
const MAX_RSS_KIB: u64 = 300 * 1024;

/// Runs `n` requests concurrently (the `i`th made by `request(app, i)`)
/// while watching the server: its resident memory must stay under
/// [`MAX_RSS_KIB`] and `/healthz` must keep answering. Returns the statuses
/// and bodies of the requests.
///
/// The requests run on a runtime of their own, so that the probe of
/// `/healthz` (on the test's runtime) is never waiting for the test's own
/// clients to be polled: what is timed is the server's answer.
async fn during_burst<F, Fut>(
    app: &std::sync::Arc<TestApp>,
    n: usize,
    request: F,
) -> Vec<common::Answer>
where
    F: Fn(std::sync::Arc<TestApp>, usize) -> Fut,
    Fut: std::future::Future<Output = common::Answer> + Send + 'static,
{
    let burst = Burst(Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    ));
    let tasks: Vec<_> = (0..n)
        .map(|i| burst.runtime().spawn(request(app.clone(), i)))
        .collect();
    let health = client();
    while !tasks.iter().all(|t| t.is_finished()) {
        let rss = app.rss_kib();
        assert!(
            rss < MAX_RSS_KIB,
            "server resident memory {rss} KiB during the burst"
        );
        let started = Instant::now();
        let h = health
            .get(app.url("/healthz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("/healthz answers during the burst");
        assert_eq!(h.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    drop(burst);
    assert!(app.rss_kib() < MAX_RSS_KIB, "after the burst");
    out
}

/// The burst's runtime, shut down without waiting when it goes (a runtime
/// may not be dropped on a runtime's thread, as when an assertion fails).
struct Burst(Option<tokio::runtime::Runtime>);

impl Burst {
    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("running")
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A server with org `acme` and its admin `a@acme.test` ("right password").
fn acme() -> TestApp {
    let app = TestApp::spawn();
    app.create_org("acme", "a@acme.test", "right password");
    app
}

/// A sign-in as `a@acme.test` with `password`, from a new client.
async fn sign_in_a(app: &TestApp, password: &str) -> common::Answer {
    app.sign_in(&client(), "a@acme.test", password).await
}

/// Answers of status 503 carry `Retry-After` and the busy message.
fn check_busy(answers: &[common::Answer]) {
    for a in answers.iter().filter(|a| a.status == 503) {
        assert!(a.headers.get("retry-after").is_some(), "{:?}", a.headers);
        assert_eq!(a.body, json!("Busy"));
    }
}

#[tokio::test]
async fn a_burst_of_bad_sign_ins_keeps_memory_bounded_and_health_answering() {
    let app = std::sync::Arc::new(acme());
    let answers = during_burst(&app, 200, |app, i| async move {
        app.sign_in(&client(), &format!("u{i}@acme.test"), "wrong password")
            .await
    })
    .await;
    for a in &answers {
        assert!(
            [401, 429, 503].contains(&a.status),
            "{} {}",
            a.status,
            a.body
        );
    }
    check_busy(&answers);
    // The per-address throttle counts attempts before checking them.
    let checked = answers.iter().filter(|a| a.status == 401).count();
    assert!(checked <= 20, "{checked} passwords checked");
    // And the memory of those checks is given back: glibc used to keep
    // about 19 MiB per check (400+ MiB after this burst), for good.
    let rss = app.rss_kib();
    assert!(rss < 150 * 1024, "{rss} KiB resident after the burst");
}

#[tokio::test]
async fn parallel_wrong_passwords_for_one_email_are_counted_before_checking() {
    let app = std::sync::Arc::new(acme());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let app = app.clone();
            // Spelled differently: the throttle keys the normalised address.
            let email = if i % 2 == 0 {
                "a@acme.test"
            } else {
                " A@Acme.TEST"
            };
            tokio::spawn(async move { app.sign_in(&client(), email, "wrong password").await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let count = |s: u16| answers.iter().filter(|a| a.status == s).count();
    // At most the five allowed were checked; every other one was refused
    // (or, on a busy machine, not checked at all: 503, given back).
    assert!(count(401) <= 5, "{} wrong passwords checked", count(401));
    assert_eq!(count(401) + count(429) + count(503), 40);
    check_busy(&answers);
    // Attempts given back (503) are not failures: make up for them one at a
    // time until the address is locked.
    let mut failures = count(401);
    let mut tries = 0;
    while failures < 5 {
        let next = sign_in_a(&app, "wrong password").await;
        match next.status {
            401 => failures += 1,
            429 => break,
            503 => {}
            other => panic!("unexpected {other}: {}", next.body),
        }
        tries += 1;
        assert!(failures <= 5, "{failures} wrong passwords checked");
        assert!(tries < 100, "never locked out");
    }
    let now = sign_in_a(&app, "right password").await;
    assert_eq!(now.status, 429, "locked out: {}", now.body);
}

#[tokio::test]
async fn over_long_sign_in_input_is_refused_before_any_work() {
    let app = std::sync::Arc::new(acme());
    let wrong = sign_in_a(&app, "wrong password").await;
    assert_eq!(wrong.status, 401);

    // Just over the limits: the usual answer.
    let long_email = format!("{}@acme.test", "a".repeat(250));
    let r = app.sign_in(&client(), &long_email, "wrong password").await;
    assert_eq!((r.status, &r.body), (wrong.status, &wrong.body));
    let r = sign_in_a(&app, &"p".repeat(1025)).await;
    assert_eq!((r.status, &r.body), (wrong.status, &wrong.body));

    // Megabyte emails, many at once: each refused at once, without a
    // password check (no 503, no throttle entry) and without memory.
    let answers = during_burst(&app, 60, |app, i| async move {
        let email = format!("{i}{}@acme.test", "x".repeat(1_500_000));
        app.sign_in(&client(), &email, "wrong password").await
    })
    .await;
    for a in &answers {
        assert_eq!((a.status, &a.body), (wrong.status, &wrong.body));
    }
    // None of it counted against the address: the right password works.
    let ok = sign_in_a(&app, "right password").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn first_run_after_set_up_does_no_password_work() {
    let app = std::sync::Arc::new(acme());
    let answers = during_burst(&app, 100, |app, i| async move {
        app.create_first_org(
            &client(),
            "Evil",
            &format!("evil{i}"),
            &format!("e{i}@evil.test"),
            "correct horse",
        )
        .await
    })
    .await;
    for a in &answers {
        assert_eq!(a.status, 400, "{}", a.body);
        assert_eq!(
            a.body["Invalid"]["message"],
            "Portcullis is already set up; sign in instead."
        );
    }
}

#[tokio::test]
async fn redirect_targets_are_safe_local_paths() {
    let app = acme();
    let c = app.signed_in("a@acme.test", "right password").await;
    let create_token = |return_to: &'static str| {
        c.post(app.url("/api/create_token"))
            .header("Accept", "text/html")
            .form(&[
                ("label", "ci"),
                ("expires_in_days", ""),
                ("return_to", return_to),
            ])
            .send()
    };
    // A control character: a normal answer (it used to panic after the
    // token was stored), back to the settings page.
    for bad in ["/settings\u{1}", "/settings\u{7f}"] {
        let r = create_token(bad).await.expect("an answer, not a reset");
        assert_eq!(r.status(), 302, "{bad:?}");
        assert!(
            location(r.headers()).starts_with("/settings?new_token="),
            "{bad:?}: {}",
            location(r.headers())
        );
    }
    // A tab: browsers drop it, making `//evil.example`; never followed.
    let r = create_token("/\t/evil.example/x").await.unwrap();
    assert_eq!(r.status(), 302);
    let to = location(r.headers());
    assert!(to.starts_with("/settings?new_token="), "{to:?}");
    // A good one is still honoured.
    let r = create_token("/portal/tokens").await.unwrap();
    assert!(location(r.headers()).starts_with("/portal/tokens?new_token="));

    // Sign-in's `next` the same way.
    for bad in ["/\t/evil.example/x", "/artifacts\u{1}", "/artifacts\u{7f}"] {
        let r = client()
            .post(app.url("/api/sign_in"))
            .header("Accept", "text/html")
            .form(&[
                ("email", "a@acme.test"),
                ("password", "right password"),
                ("next", bad),
            ])
            .send()
            .await
            .expect("an answer, not a reset");
        assert_eq!(r.status(), 302, "{bad:?}");
        assert_eq!(location(r.headers()), "/artifacts", "{bad:?}");
    }
}

/// Waits (up to a deadline) until the server's log has a line containing
/// `needle`, and returns that line.
fn log_line(app: &TestApp, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(line) = app.logs().lines().find(|l| l.contains(needle)) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in:\n{}",
            app.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn first_run_over_the_network_needs_the_logged_set_up_code() {
    let app = TestApp::spawn_listening(tempfile::tempdir().unwrap(), "0.0.0.0:0", &[]);
    let line = log_line(&app, "set-up code: ");
    let code: String = line
        .rsplit("set-up code: ")
        .next()
        .unwrap()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(code.len(), 24, "{line}");

    let c = client();
    let page = app.get(&c, "/").await;
    assert_eq!(page.status, 200);
    let html = page.text;
    assert!(html.contains("Set up your registry"), "{html}");
    assert!(
        html.contains(r#"<label for="setup_code">Set-up code</label>"#),
        "{html}"
    );

    let first_run = |code: Option<&str>| {
        let mut form = vec![
            ("org_name", "Acme Corp".to_owned()),
            ("slug", "acme".to_owned()),
            ("email", "admin@acme.test".to_owned()),
            ("password", "correct horse".to_owned()),
        ];
        if let Some(code) = code {
            form.push(("setup_code", code.to_owned()));
        }
        let c = c.clone();
        let url = app.url("/api/create_first_org");
        async move {
            let r = c
                .post(url)
                .header("Accept", "application/json")
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default();
            (status, body)
        }
    };
    for wrong in [None, Some(""), Some("0123456789abcdef01234567")] {
        let (status, body) = first_run(wrong).await;
        assert_eq!(status, 400, "{wrong:?}: {body}");
        assert!(
            body["Invalid"]["fields"]["setup_code"].is_string(),
            "{wrong:?}: {body}"
        );
    }
    let store = app.store().await;
    use domain::store::Store;
    assert!(!store.has_orgs().await.unwrap(), "nothing created");

    let (status, body) = first_run(Some(&code.to_uppercase())).await;
    assert_eq!(status, 200, "{body}");
    assert!(store.has_orgs().await.unwrap());
    app.signed_in("admin@acme.test", "correct horse").await;
}

#[tokio::test]
async fn first_run_on_loopback_needs_no_code() {
    let app = TestApp::spawn();
    let html = app.get_text(&client(), "/").await;
    assert!(html.contains("Set up your registry"), "{html}");
    assert!(!html.contains("setup_code"), "{html}");
    app.sync_logs().await;
    assert!(!app.logs().contains("set-up code"));
}
