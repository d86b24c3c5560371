//! The customer portal (SPEC §5) and live updates (SPEC §3 "Real time") on
//! a real server: what a customer's pages show, and the `/events` stream.

mod common;

use common::registry::Reg;
use common::{Api, TestApp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ADMIN: &str = "a@acme.test";
const CUSTOMER: &str = "c@globex.test";
const CUSTOMER_PW: &str = "globex password";

/// An entitlement of `customer` named `name`, without an end; its id.
async fn entitle(api: &Api, customer: i64, name: &str, artifacts: Value) -> i64 {
    api.entitle(
        customer,
        json!({"name": name, "expires_at": null, "artifacts": artifacts}),
    )
    .await
}

/// An org on the pro plan with its admin's API.
fn pro_org(app: &TestApp, slug: &str, admin: &str) -> Api {
    app.create_pro_org(slug, admin, "admin password");
    app.api(&app.token(admin, &[]))
}

/// Pushes a one-layer manifest whose config has `config_type`, with
/// `annotations`; returns its digest.
async fn push(reg: &Reg, repo: &str, tag: &str, config_type: &str, annotations: Value) -> String {
    let config = reg
        .push_blob(repo, format!("{{\"tag\":\"{tag}\"}}").as_bytes())
        .await;
    let layer = reg
        .push_blob(repo, format!("layer of {repo}:{tag}").as_bytes())
        .await;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_type, "digest": config, "size": 12 + tag.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer,
            "size": format!("layer of {repo}:{tag}").len()}],
        "annotations": annotations,
    }))
    .unwrap();
    reg.put_oci_manifest(repo, tag, &manifest).await
}

const IMAGE: &str = "application/vnd.oci.image.config.v1+json";
const HELM: &str = "application/vnd.cncf.helm.config.v1+json";

fn described(text: &str) -> Value {
    json!({"org.opencontainers.image.description": text})
}

/// The page's `<main>` (with its islands' props), and the data it was
/// rendered from if the page sends any (pages are rendered on the server
/// only, so today none is sent).
fn main_and_data(html: &str) -> String {
    let main = &html[html.find("<main").unwrap()..html.find("</main>").unwrap()];
    let data = html.find("__RESOLVED_RESOURCES[0]").map_or("", |at| {
        let data = &html[at..];
        &data[..data.find("</script>").unwrap()]
    });
    format!("{main}{data}")
}

/// The change-feed position a page was rendered at (its live-updates meta).
fn live_position(html: &str) -> i64 {
    let meta = r#"<meta name="portcullis-live-after" content=""#;
    let at = html.find(meta).expect("the live-updates meta") + meta.len();
    let position = &html[at..at + html[at..].find('"').unwrap()];
    position
        .parse()
        .unwrap_or_else(|_| panic!("a change id: {position:?}"))
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let r = app.get(client, path).await;
    (r.status, r.text)
}

#[tokio::test]
async fn the_portal_shows_exactly_what_the_customer_may_pull() {
    let app = TestApp::start();
    let acme = pro_org(&app, "acme", ADMIN);
    let reg = Reg::new(&app.base, ADMIN, acme.token());
    let web1 = push(&reg, "acme/web", "1.0", IMAGE, described("Web, the first")).await;
    let web2 = push(
        &reg,
        "acme/web",
        "2.0",
        IMAGE,
        described("Web, the secret sequel"),
    )
    .await;
    push(
        &reg,
        "acme/charts/db",
        "0.1.0",
        HELM,
        described("A database chart"),
    )
    .await;
    push(
        &reg,
        "acme/secret",
        "1.0",
        IMAGE,
        described("Not for customers"),
    )
    .await;
    let globex = acme.customer("Globex", CUSTOMER, CUSTOMER_PW).await.0;
    entitle(
        &acme,
        globex,
        "Gold",
        json!([{"artifact": "web", "tags": ["1.0"]}, {"artifact": "charts/db", "tags": "all"}]),
    )
    .await;
    // Another org with an artifact of the same name, and its own customer.
    let umbra = pro_org(&app, "umbra", "u@umbra.test");
    let ureg = Reg::new(&app.base, "u@umbra.test", umbra.token());
    push(&ureg, "umbra/web", "9.9", IMAGE, json!({})).await;
    umbra.customer("Hive", "h@hive.test", "hive password").await;

    let c = app.signed_in(CUSTOMER, CUSTOMER_PW).await;
    let listed = app.call_ok(&c, "portal_artifacts", &[]).await;
    let names: Vec<&str> = listed.body["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["artifact"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["charts/db", "web"]);
    let web = &listed.body["artifacts"][1];
    assert_eq!(web["tags"].as_array().unwrap().len(), 1);
    assert_eq!(web["tags"][0]["tag"], "1.0");
    assert_eq!(web["tags"][0]["digest"], web1.as_str());
    // The description of the newest tag the customer may pull, not 2.0's.
    assert_eq!(web["artifact"]["description"], "Web, the first");
    assert_eq!(web["artifact"]["tag_count"], 1);
    assert_eq!(
        listed.body["artifacts"][0]["artifact"]["kind"],
        "helm-chart"
    );
    assert_eq!(listed.body["vendor"], "acme Inc");

    // The page says the same, and nothing of what is hidden.
    let (s, html) = page(&c, &app, "/portal").await;
    assert_eq!(s, 200);
    for shown in [
        "Web, the first",
        "A database chart",
        "charts/db",
        &web1[..19],
    ] {
        assert!(html.contains(shown), "{shown} missing from the portal");
    }
    // (Umbra's tag as a tag would appear, in the text or in the data: a
    // bare "9.9" also occurs in timestamps such as 12:39.9…)
    for hidden in ["secret", "sequel", &web2[7..19], ">9.9<", "\"9.9\""] {
        assert!(!html.contains(hidden), "{hidden} leaked into the portal");
    }

    // One artifact: pull instructions for the chosen (or newest) tag.
    let host = app.host();
    let (s, html) = page(&c, &app, "/portal/artifacts/web").await;
    assert_eq!(s, 200);
    for cmd in [
        format!("$TOKEN\" | docker login {host} -u {CUSTOMER} --password-stdin"),
        format!("docker pull {host}/acme/web:1.0"),
        format!("podman pull {host}/acme/web:1.0"),
    ] {
        assert!(html.contains(&cmd), "{cmd} missing");
    }
    assert!(html.contains("href=\"/portal/tokens\""));
    let (s, html) = page(&c, &app, "/portal/artifacts/charts/db?tag=0.1.0").await;
    assert_eq!(s, 200);
    for cmd in [
        format!("helm registry login {host} -u {CUSTOMER} --password-stdin"),
        format!("helm pull oci://{host}/acme/charts/db --version 0.1.0"),
        format!("helm install db oci://{host}/acme/charts/db --version 0.1.0"),
    ] {
        assert!(html.contains(&cmd), "{cmd} missing");
    }
    // A hidden tag asked for by name: not shown, nor its digest.
    let (s, html) = page(&c, &app, "/portal/artifacts/web?tag=2.0").await;
    assert_eq!(s, 200);
    assert!(html.contains("is not available to you"));
    assert!(!html.contains(&web2[7..19]) && !html.contains("sequel"));

    // Invisible and missing artifacts get the same not-found answer.
    let hidden = app.call(&c, "portal_artifact", &[("name", "secret")]).await;
    let missing = app.call(&c, "portal_artifact", &[("name", "nope")]).await;
    assert_eq!((hidden.status, missing.status), (404, 404));
    assert_eq!(hidden.body, missing.body);
    let (s1, hidden) = page(&c, &app, "/portal/artifacts/secret").await;
    let (s2, missing) = page(&c, &app, "/portal/artifacts/nope").await;
    assert_eq!((s1, s2), (404, 404));
    // A browser's request (it accepts text/html) gets the same answer.
    for path in ["/portal/artifacts/secret", "/portal/artifacts/nope"] {
        let r = c.get(app.url(path)).header("Accept", "text/html").send();
        assert_eq!(r.await.unwrap().status(), 404, "{path}");
    }
    assert!(hidden.contains("Artifact not found"));
    assert_eq!(
        main_and_data(&hidden.replace("secret", "NAME")),
        main_and_data(&missing.replace("nope", "NAME")),
        "the two answers differ"
    );
    let web = app.call_ok(&c, "portal_artifact", &[("name", "web")]).await;
    assert_eq!(web.body["tags"].as_array().unwrap().len(), 1);
    assert_eq!(web.body["email"], CUSTOMER);

    // The other org's customer sees its own org's (rule 1: no entitlements there).
    let h = app.signed_in("h@hive.test", "hive password").await;
    let listed = app.call(&h, "portal_artifacts", &[]).await;
    assert_eq!(listed.body["artifacts"][0]["artifact"]["name"], "web");
    assert_eq!(listed.body["artifacts"][0]["tags"][0]["tag"], "9.9");
    assert_eq!(listed.body["artifacts"].as_array().unwrap().len(), 1);

    // Only customer users; signed out is 401.
    let vendor = app.signed_in(ADMIN, "admin password").await;
    assert_eq!(app.call(&vendor, "portal_artifacts", &[]).await.status, 403);
    let anon = common::client();
    assert_eq!(app.call(&anon, "portal_artifacts", &[]).await.status, 401);
    // Pages: the guard sends others away.
    let (s, _) = page(&anon, &app, "/portal/tokens").await;
    assert_eq!(s, 303);
    let (s, html) = page(&c, &app, "/portal/tokens").await;
    assert_eq!(s, 200);
    assert!(html.contains("Create token"));
}

#[tokio::test]
async fn an_empty_portal_says_whom_to_ask() {
    let app = TestApp::start();
    let acme = pro_org(&app, "acme", ADMIN);
    let reg = Reg::new(&app.base, ADMIN, acme.token());
    push(&reg, "acme/web", "1.0", IMAGE, json!({})).await;
    let globex = acme.customer("Globex", CUSTOMER, CUSTOMER_PW).await.0;
    let other = acme
        .customer("Initech", "i@initech.test", "initech pw")
        .await
        .0;
    // The org uses entitlements, Globex has none: it sees nothing.
    entitle(
        &acme,
        other,
        "Gold",
        json!([{"artifact": "web", "tags": "all"}]),
    )
    .await;
    let _ = globex;
    let c = app.signed_in(CUSTOMER, CUSTOMER_PW).await;
    let (s, html) = page(&c, &app, "/portal").await;
    assert_eq!(s, 200);
    assert!(html.contains("Nothing to pull yet"));
    assert!(html.contains("ask your contact at acme Inc"));
    assert!(!html.contains("acme/web") && !html.contains(">web<"));
}

/// A server-sent event stream read from a response.
struct Stream {
    resp: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(client: &reqwest::Client, app: &TestApp, query: &str) -> Self {
        Self::open_with(client, app, query, None).await
    }

    async fn open_with(
        client: &reqwest::Client,
        app: &TestApp,
        query: &str,
        last_event_id: Option<&str>,
    ) -> Self {
        let mut r = client
            .get(app.url(&format!("/events{query}")))
            .header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            r = r.header("Last-Event-ID", id);
        }
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mut s = Self {
            resp,
            buf: String::new(),
        };
        // The first block names the stream and sets the retry delay.
        let hello = s.block().await.expect("hello");
        assert!(hello.contains("retry: 1000"), "{hello}");
        s
    }

    /// The next block (event or comment), or `None` when the stream ended.
    async fn block(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let block = self.buf[..i].to_owned();
                self.buf.drain(..i + 2);
                return Some(block);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.resp.chunk())
                .await
                .expect("no event within 20 s")
                .unwrap()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The data of the next event (skipping keep-alive comments); `None`
    /// when the stream ended.
    async fn event(&mut self) -> Option<Value> {
        loop {
            let block = self.block().await?;
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                return Some(serde_json::from_str(data).unwrap());
            }
        }
    }

    /// Every event until the stream ends.
    async fn rest(&mut self) -> Vec<Value> {
        let mut out = vec![];
        while let Some(e) = self.event().await {
            out.push(e);
        }
        out
    }
}

#[tokio::test]
async fn entitlement_changes_reach_the_right_open_pages() {
    use reqwest::Method as M;
    let app = TestApp::start();
    let acme = pro_org(&app, "acme", ADMIN);
    let reg = Reg::new(&app.base, ADMIN, acme.token());
    push(&reg, "acme/web", "1.0", IMAGE, json!({})).await;
    push(&reg, "acme/web", "2.0", IMAGE, json!({})).await;
    let globex = acme.customer("Globex", CUSTOMER, CUSTOMER_PW).await.0;
    let initech = acme
        .customer("Initech", "i@initech.test", "initech pw")
        .await
        .0;
    let gold = entitle(
        &acme,
        globex,
        "Gold",
        json!([{"artifact": "web", "tags": ["1.0"]}]),
    )
    .await;
    entitle(
        &acme,
        initech,
        "Gold",
        json!([{"artifact": "web", "tags": "all"}]),
    )
    .await;
    let umbra = pro_org(&app, "umbra", "u@umbra.test");
    let hive = umbra
        .customer("Hive", "h@hive.test", "hive password")
        .await
        .0;

    // No session: 401, no stream.
    let anon = common::client();
    let r = app.get(&anon, "/events").await;
    assert_eq!(r.status, 401);

    let c = app.signed_in(CUSTOMER, CUSTOMER_PW).await;
    let i = app.signed_in("i@initech.test", "initech pw").await;
    let h = app.signed_in("h@hive.test", "hive password").await;
    let v = app.signed_in(ADMIN, "admin password").await;
    let u = app.signed_in("u@umbra.test", "admin password").await;
    let mut globex_page = Stream::open(&c, &app, "").await;
    let mut initech_page = Stream::open(&i, &app, "").await;
    let mut hive_page = Stream::open(&h, &app, "").await;
    let mut vendor_page = Stream::open(&v, &app, "").await;
    let mut umbra_page = Stream::open(&u, &app, "").await;

    // The vendor lets Globex pull 2.0 too.
    let saved = Instant::now();
    acme.ok(
        M::PUT,
        &format!("/api/v1/entitlements/{gold}"),
        Some(json!({"name": "Gold", "expires_at": null,
            "artifacts": [{"artifact": "web", "tags": ["1.0", "2.0"]}]})),
    )
    .await;
    assert_eq!(
        globex_page.event().await,
        Some(json!({"kind": "access", "customer_id": null}))
    );
    let latency = saved.elapsed();
    assert!(latency < Duration::from_secs(1), "took {latency:?}");
    assert_eq!(
        vendor_page.event().await,
        Some(json!({"kind": "entitlements", "customer_id": globex}))
    );
    // What Globex sees now.
    let listed = app.call(&c, "portal_artifacts", &[]).await;
    assert_eq!(listed.body["artifacts"][0]["tags"][1]["tag"], "1.0");

    // Saving without changing what Globex sees sends it nothing; the
    // vendor's list still refreshes. (Events come in order: the customer's
    // removal below is the first thing Globex's stream reports after this.)
    acme.ok(
        M::PUT,
        &format!("/api/v1/entitlements/{gold}"),
        Some(json!({"name": "Gold renamed", "expires_at": null,
            "artifacts": [{"artifact": "web", "tags": ["2.0", "1.0"]}]})),
    )
    .await;
    assert_eq!(
        vendor_page.event().await,
        Some(json!({"kind": "entitlements", "customer_id": globex}))
    );

    // A page rendered before a change but connecting after it is told: it
    // carries the change-feed position its data was read at.
    let (_, html) = page(&c, &app, "/portal").await;
    let rendered = live_position(&html);
    acme.ok(
        M::PUT,
        &format!("/api/v1/entitlements/{gold}"),
        Some(json!({"name": "Gold", "expires_at": null,
            "artifacts": [{"artifact": "web", "tags": ["2.0"]}]})),
    )
    .await;
    assert_eq!(
        globex_page.event().await,
        Some(json!({"kind": "access", "customer_id": null}))
    );
    assert_eq!(
        vendor_page.event().await,
        Some(json!({"kind": "entitlements", "customer_id": globex}))
    );
    let mut late_page = Stream::open(&c, &app, &format!("?after={rendered}")).await;
    assert_eq!(
        late_page.event().await,
        Some(json!({"kind": "access", "customer_id": null}))
    );
    // A reconnection (Last-Event-ID) refetches by itself: no catch-up.
    let mut reconnected =
        Stream::open_with(&c, &app, &format!("?after={rendered}"), Some("live")).await;

    // Removing customers ends their streams with `signed_out`; nothing came
    // before it to the customers the changes above did not concern.
    acme.ok(M::DELETE, &format!("/api/v1/customers/{globex}"), None)
        .await;
    acme.ok(M::DELETE, &format!("/api/v1/customers/{initech}"), None)
        .await;
    umbra
        .ok(M::DELETE, &format!("/api/v1/customers/{hive}"), None)
        .await;
    let signed_out = vec![json!({"kind": "signed_out", "customer_id": null})];
    assert_eq!(globex_page.rest().await, signed_out);
    assert_eq!(late_page.rest().await, signed_out);
    assert_eq!(reconnected.rest().await, signed_out);
    assert_eq!(initech_page.rest().await, signed_out);
    assert_eq!(hive_page.rest().await, signed_out);
    assert_eq!(
        vendor_page.event().await,
        Some(json!({"kind": "customer_removed", "customer_id": globex}))
    );
    assert_eq!(
        vendor_page.event().await,
        Some(json!({"kind": "customer_removed", "customer_id": initech}))
    );
    // The other org's vendor heard only of its own customer.
    assert_eq!(
        umbra_page.event().await,
        Some(json!({"kind": "customer_removed", "customer_id": hive}))
    );
    // A removed user's session no longer opens a stream.
    let r = app.get(&c, "/events").await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn an_expiring_entitlement_updates_the_page_and_open_streams_end_at_shutdown() {
    let app = TestApp::spawn();
    let acme = pro_org(&app, "acme", ADMIN);
    let reg = Reg::new(&app.base, ADMIN, acme.token());
    push(&reg, "acme/web", "1.0", IMAGE, json!({})).await;
    let globex = acme.customer("Globex", CUSTOMER, CUSTOMER_PW).await.0;
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    acme.ok(
        reqwest::Method::POST,
        &format!("/api/v1/customers/{globex}/entitlements"),
        Some(json!({"name": "Trial", "expires_at": soon.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "artifacts": [{"artifact": "web", "tags": "all"}]})),
    )
    .await;
    let c = app.signed_in(CUSTOMER, CUSTOMER_PW).await;
    let mut page = Stream::open(&c, &app, "").await;
    assert_eq!(
        app.call(&c, "portal_artifacts", &[]).await.body["artifacts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // No write happens: the stream's own timer notices the expiry.
    assert_eq!(
        page.event().await,
        Some(json!({"kind": "access", "customer_id": null}))
    );
    assert!(chrono::Utc::now() >= soon);
    assert_eq!(
        app.call(&c, "portal_artifacts", &[]).await.body["artifacts"],
        json!([])
    );

    // SIGTERM with a stream open: the server still stops promptly.
    let mut app = app;
    let stopped = tokio::task::spawn_blocking(move || {
        let status = app.terminate();
        drop(app);
        status
    });
    let status = tokio::time::timeout(Duration::from_secs(15), stopped)
        .await
        .expect("the server did not stop with a live stream open")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(page.rest().await, Vec::<Value>::new());
}

/// Pages render once per request on the server, whatever the timing: the
/// shells used to build the page inside the `Suspense` that waits for the
/// signed-in user, and a server render may run that view twice. Under
/// concurrency a page was then built twice (its resources too, with other
/// ids than the browser's, which broke hydration) and the discarded copy's
/// server function ran without its context ("ServerCtx missing from
/// context" in the log). Many concurrent renders must log no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_renders_of_shell_pages_log_no_error() {
    let app = TestApp::spawn();
    let api = pro_org(&app, "acme", ADMIN);
    api.customer("Globex", CUSTOMER, CUSTOMER_PW).await;
    let vendor = app.signed_in(ADMIN, "admin password").await;
    let customer = app.signed_in(CUSTOMER, CUSTOMER_PW).await;
    let pages = [
        (vendor.clone(), "/settings", "Access tokens"),
        (vendor.clone(), "/licenses", "Licenses"),
        (customer.clone(), "/portal/tokens", "Access tokens"),
        (customer.clone(), "/portal", "Artifacts"),
    ];
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let pages = pages.clone();
        let base = app.base.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let (client, path, text) = &pages[(worker + i) % pages.len()];
                let resp = client.get(format!("{base}{path}")).send().await.unwrap();
                assert_eq!(resp.status(), 200, "{path}");
                let html = resp.text().await.unwrap();
                assert!(html.contains(text), "{path} lacks {text:?}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    app.sync_logs().await;
    let logs = app.logs();
    let errors: Vec<&str> = logs.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "errors logged: {errors:#?}");
}

#[tokio::test]
async fn a_push_updates_the_portals_whose_rules_cover_the_new_tag() {
    use reqwest::Method as M;
    let app = TestApp::start();
    let acme = pro_org(&app, "acme", ADMIN);
    let reg = Reg::new(&app.base, ADMIN, acme.token());
    push(&reg, "acme/web", "1.0.0", IMAGE, json!({})).await;
    let stable = acme.customer("Globex", CUSTOMER, CUSTOMER_PW).await.0;
    let listed = acme
        .customer("Initech", "i@initech.test", "initech pw")
        .await
        .0;
    entitle(
        &acme,
        stable,
        "1.x",
        json!([{"artifact": "web", "tags": {"semver": ">=1.0, <2"}}]),
    )
    .await;
    let pinned = entitle(
        &acme,
        listed,
        "pinned",
        json!([{"artifact": "web", "tags": ["1.0.0"]}]),
    )
    .await;
    let c = app.signed_in(CUSTOMER, CUSTOMER_PW).await;
    let i = app.signed_in("i@initech.test", "initech pw").await;
    let mut stable_page = Stream::open(&c, &app, "").await;
    let mut listed_page = Stream::open(&i, &app, "").await;

    // 1.1.0 matches Globex's range: its page is told, and shows the tag.
    push(&reg, "acme/web", "1.1.0", IMAGE, json!({})).await;
    assert_eq!(
        stable_page.event().await,
        Some(json!({"kind": "access", "customer_id": null}))
    );
    let shown = app.call(&c, "portal_artifacts", &[]).await;
    assert_eq!(shown.body["artifacts"][0]["tags"][0]["tag"], "1.1.0");
    // 2.0.0 matches nobody's grant: nothing is sent to anyone.
    push(&reg, "acme/web", "2.0.0", IMAGE, json!({})).await;
    // (Events come in order: the next thing each stream reports is about
    // the change below, so nothing came for the pushes that did not
    // concern it.)
    acme.ok(
        M::PUT,
        &format!("/api/v1/entitlements/{pinned}"),
        Some(json!({"name": "pinned", "artifacts": [{"artifact": "web", "tags": ["1.0.0", "2.0.0"]}]})),
    )
    .await;
    assert_eq!(
        listed_page.event().await,
        Some(json!({"kind": "access", "customer_id": null}))
    );
    push(&reg, "acme/web", "1.2.0", IMAGE, json!({})).await;
    assert_eq!(
        stable_page.event().await,
        Some(json!({"kind": "access", "customer_id": null})),
        "1.2.0 (not 2.0.0) is the next thing Globex hears about"
    );
    acme.ok(M::DELETE, &format!("/api/v1/customers/{listed}"), None)
        .await;
    assert_eq!(
        listed_page.rest().await,
        vec![json!({"kind": "signed_out", "customer_id": null})],
        "Initech's list does not cover 1.2.0: nothing before its removal"
    );
}
