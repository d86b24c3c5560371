//! The pull log (SPEC §6) on a real server: customers' manifest pulls are
//! recorded (GET only, customers only), written off the request path and at
//! shutdown at the latest, and shown to vendor users as JSON, CSV and on the
//! customer and artifact pages; nobody else sees them.

mod common;

use common::{Api, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN: &str = "a@acme.test";
const PASSWORD: &str = "admin password";

/// The expected CSV line of a pull, from its JSON.
fn csv_line(p: &Value, customer_cell: &str, user_cell: &str) -> String {
    let at: chrono::DateTime<chrono::Utc> = p["at"].as_str().unwrap().parse().unwrap();
    format!(
        "{},{},{},{customer_cell},{},{user_cell},{},{},{},{},{}",
        p["id"],
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        p["customer_id"],
        p["user_id"],
        p["artifact"].as_str().unwrap(),
        p["tag"].as_str().unwrap_or_default(),
        p["digest"].as_str().unwrap(),
        p["address"].as_str().unwrap(),
        p["count"],
    )
}

#[tokio::test]
async fn customer_pulls_are_logged_and_shown_to_the_vendor() {
    let mut app = TestApp::spawn();
    let vendor = app.vendor("acme", ADMIN, PASSWORD);
    let (chart, _) = vendor
        .push_image("acme/charts/web", "1.0", &[b"chart layer"])
        .await;
    vendor.push_image("acme/web", "2.0", &[b"web layer"]).await;
    let api = app.api(vendor.token());
    // Text a spreadsheet would run as a formula, and that needs quoting.
    let globex = api
        .customer("=Globex, \"Intl\"", "+ops@globex.test", "customer password")
        .await
        .0;
    let initech = api
        .customer("Initech", "bob@initech.test", "customer password")
        .await
        .0;
    let ops = app.reg("+ops@globex.test");
    let bob = app.reg("bob@initech.test");

    // The org has no entitlements (rule 1): its customers may pull everything.
    // Pulls: by tag, by digest, another artifact; then another customer.
    let by_tag = "/v2/acme/charts/web/manifests/1.0";
    let by_digest = format!("/v2/acme/charts/web/manifests/{chart}");
    assert_eq!(ops.status(Method::GET, by_tag).await, 200);
    assert_eq!(ops.status(Method::GET, &by_digest).await, 200);
    assert_eq!(
        ops.status(Method::GET, "/v2/acme/web/manifests/2.0").await,
        200
    );
    assert_eq!(bob.status(Method::GET, by_tag).await, 200);
    // Not pulls: a HEAD, a missing tag, blobs, tag lists, the vendor's own pull.
    assert_eq!(ops.status(Method::HEAD, by_tag).await, 200);
    let (missing, list) = (
        "/v2/acme/charts/web/manifests/9.9",
        "/v2/acme/charts/web/tags/list",
    );
    assert_eq!(
        ops.statuses(Method::GET, &[missing, list]).await,
        [404, 200]
    );
    assert_eq!(vendor.status(Method::GET, by_tag).await, 200);
    // A deleted customer's pulls stay in the log.
    let deleted = api
        .request(
            Method::DELETE,
            &format!("/api/v1/customers/{initech}"),
            None,
            Some("application/json"),
        )
        .await;
    assert_eq!(deleted.status, 204);

    // Pulls are written in batches; at the latest when the server stops.
    let exit = app.terminate();
    assert!(exit.success(), "{exit:?}");
    let app = TestApp::spawn_in(app.kill(), &[]);
    let api = app.api(vendor.token());

    let pulls = api.get_ok("/api/v1/pulls").await["pulls"].clone();
    let rows: Vec<(String, bool, String, String, Value)> = pulls
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["customer"].as_str().unwrap().to_owned(),
                p["customer_deleted"].as_bool().unwrap(),
                p["user_email"].as_str().unwrap().to_owned(),
                p["artifact"].as_str().unwrap().to_owned(),
                p["tag"].clone(),
            )
        })
        .collect();
    let g = "=Globex, \"Intl\"".to_owned();
    let s = |s: &str| s.to_owned();
    assert_eq!(
        rows,
        [
            (
                s("Initech"),
                true,
                s("bob@initech.test"),
                s("charts/web"),
                json!("1.0")
            ),
            (
                g.clone(),
                false,
                s("+ops@globex.test"),
                s("web"),
                json!("2.0")
            ),
            (
                g.clone(),
                false,
                s("+ops@globex.test"),
                s("charts/web"),
                Value::Null
            ),
            (
                g.clone(),
                false,
                s("+ops@globex.test"),
                s("charts/web"),
                json!("1.0")
            ),
        ],
        "newest first, only customers' GETs: {pulls}"
    );
    let first = &pulls[3];
    assert_eq!(first["digest"], chart.as_str());
    assert_eq!(first["address"], "127.0.0.1");
    assert_eq!(first["count"], 1);
    assert_eq!(first["customer_id"], globex);
    assert!(first["user_id"].is_i64() && first["id"].is_i64());
    let at: chrono::DateTime<chrono::Utc> = first["at"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - at).num_seconds() < 120, "{at}");

    // By customer and by artifact (a name with a slash).
    let mine = api
        .get_ok(&format!("/api/v1/pulls?customer={globex}"))
        .await["pulls"]
        .clone();
    assert_eq!(mine.as_array().unwrap().len(), 3);
    assert_eq!(mine, json!(pulls.as_array().unwrap()[1..].to_vec()));
    let chart_pulls = api.get_ok("/api/v1/pulls?artifact=charts/web").await["pulls"].clone();
    assert_eq!(chart_pulls.as_array().unwrap().len(), 3);
    let both = api
        .get_ok(&format!(
            "/api/v1/pulls?artifact=charts%2Fweb&customer={globex}"
        ))
        .await["pulls"]
        .clone();
    assert_eq!(both.as_array().unwrap().len(), 2);

    // Paging: limit, then before the last id seen.
    let page = api.get_ok("/api/v1/pulls?limit=2").await["pulls"].clone();
    assert_eq!(page, json!(pulls.as_array().unwrap()[..2].to_vec()));
    let next = api
        .get_ok(&format!("/api/v1/pulls?limit=2&before={}", page[1]["id"]))
        .await["pulls"]
        .clone();
    assert_eq!(next, json!(pulls.as_array().unwrap()[2..].to_vec()));

    // CSV: a header row, one CRLF line per pull, quoted and defused cells.
    let csv = api
        .get(&format!("/api/v1/pulls?customer={globex}&format=csv"))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        csv.header("content-disposition"),
        format!("attachment; filename=\"pulls-acme-customer-{globex}.csv\"")
    );
    let customer_cell = "\"'=Globex, \"\"Intl\"\"\"";
    let mut expected = String::from(
        "id,time,customer_id,customer,user_id,user,artifact,tag,digest,address,count\r\n",
    );
    for p in mine.as_array().unwrap() {
        expected.push_str(&csv_line(p, customer_cell, "'+ops@globex.test"));
        expected.push_str("\r\n");
    }
    assert_eq!(csv.text, expected);
    // Asked for with Accept, for an artifact, with a deleted customer.
    let csv = api
        .request(
            Method::GET,
            "/api/v1/pulls?artifact=charts/web",
            None,
            Some("text/csv"),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.header("content-disposition"),
        "attachment; filename=\"pulls-acme-charts-web.csv\""
    );
    let lines: Vec<&str> = csv.text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 4, "{}", csv.text);
    assert_eq!(
        lines[1],
        csv_line(&chart_pulls[0], "Initech (deleted)", "bob@initech.test")
    );

    // The pages: the latest pulls and the CSV link, for a signed-in vendor.
    let web = app.signed_in(ADMIN, PASSWORD).await;
    let page = app.get(&web, &format!("/licenses/{globex}")).await;
    assert_eq!(page.status, 200);
    let html = page.text;
    for text in [
        "<h2 id=\"pulls-heading\">Pulls</h2>",
        &format!("href=\"/api/v1/pulls?customer={globex}&amp;format=csv\""),
        "+ops@globex.test",
        "by digest",
        &format!("title=\"{chart}\""),
        &chart[..19],
        "127.0.0.1",
        "charts/web",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    assert!(!html.contains("No pulls yet."));
    let page = app.get(&web, "/artifacts/charts/web").await;
    let html = page.text;
    for text in [
        "Initech (deleted)",
        "=Globex, ",
        "href=\"/api/v1/pulls?artifact=charts/web&amp;format=csv\"",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    // The link works with the session cookie.
    let r = app
        .get(&web, "/api/v1/pulls?artifact=charts/web&format=csv")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, csv.text);
}

#[tokio::test]
async fn only_the_vendor_reads_the_pull_log() {
    let app = TestApp::spawn();
    let vendor = app.vendor("acme", ADMIN, PASSWORD);
    vendor
        .push_image("acme/charts/web", "1.0", &[b"layer"])
        .await;
    let api = app.api(vendor.token());
    let globex = api
        .customer("Globex", "c@globex.test", "customer password")
        .await
        .0;
    let admin = app.signed_in(ADMIN, PASSWORD).await;
    let added = app
        .add_vendor_user(&admin, "ro@acme.test", "read only pw", "read_only")
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    app.create_org("beta", "b@beta.test", "beta password");

    // Nothing yet: an empty list, a CSV with only its header.
    assert_eq!(api.get_ok("/api/v1/pulls").await, json!({"pulls": []}));
    let csv = api
        .get(&format!("/api/v1/pulls?customer={globex}&format=csv"))
        .await;
    assert_eq!(
        (csv.status, csv.text.as_str()),
        (
            200,
            "id,time,customer_id,customer,user_id,user,artifact,tag,digest,address,count\r\n"
        )
    );

    // Read-only vendor users read it; customer users and strangers do not.
    let ro = app.api(&app.token("ro@acme.test", &[]));
    assert_eq!(ro.get("/api/v1/pulls?format=csv").await.status, 200);
    let customer = app.api(&app.token("c@globex.test", &[]));
    let anon = Api::anonymous(&app);
    for (who, caller, want, code) in [
        ("customer", &customer, 403, "forbidden"),
        ("anonymous", &anon, 401, "unauthenticated"),
    ] {
        for path in [
            "/api/v1/pulls".to_owned(),
            format!("/api/v1/pulls?customer={globex}&format=csv"),
        ] {
            let a = caller.get(&path).await;
            assert_eq!(
                (a.status, a.json()["error"]["code"].clone()),
                (want, json!(code)),
                "{who} {path}"
            );
        }
    }

    // Another org's customer or artifact is not found; its own log is empty.
    let beta = app.api(&app.token("b@beta.test", &[]));
    for path in [
        format!("/api/v1/pulls?customer={globex}"),
        "/api/v1/pulls?artifact=charts/web&format=csv".to_owned(),
    ] {
        let a = beta.get(&path).await;
        assert_eq!(
            (a.status, a.json()["error"]["code"].clone()),
            (404, json!("not_found")),
            "{path}"
        );
    }
    assert_eq!(beta.get_ok("/api/v1/pulls").await, json!({"pulls": []}));

    // Bad queries: JSON errors with the right status, never a 500.
    for (path, want, code, field) in [
        ("/api/v1/pulls?customer=9999", 404, "not_found", None),
        ("/api/v1/pulls?artifact=nope", 404, "not_found", None),
        ("/api/v1/pulls?customer=abc", 400, "bad_request", None),
        ("/api/v1/pulls?before=x", 400, "bad_request", None),
        ("/api/v1/pulls?limit=0", 422, "invalid", Some("limit")),
        ("/api/v1/pulls?limit=100001", 422, "invalid", Some("limit")),
        ("/api/v1/pulls?format=xml", 422, "invalid", Some("format")),
    ] {
        let a = api.get(path).await;
        let e = a.json();
        assert_eq!(
            (a.status, e["error"]["code"].clone()),
            (want, json!(code)),
            "{path}: {}",
            a.text
        );
        if let Some(f) = field {
            assert!(e["error"]["fields"][f].is_string(), "{path}: {e}");
        }
    }

    // The server functions behind the pages: the same rules.
    let ro_web = app.signed_in("ro@acme.test", "read only pw").await;
    let cust_web = app.signed_in("c@globex.test", "customer password").await;
    let beta_web = app.signed_in("b@beta.test", "beta password").await;
    let id = globex.to_string();
    for (name, arg) in [
        ("customer_pulls", ("id", id.as_str())),
        ("artifact_pulls", ("name", "charts/web")),
    ] {
        for (who, client, want) in [
            ("admin", &admin, 200),
            ("read_only", &ro_web, 200),
            ("customer", &cust_web, 403),
            ("other org", &beta_web, 404),
        ] {
            let r = app.call(client, name, &[arg]).await;
            assert_eq!(r.status, want, "{name} as {who}: {}", r.body);
            if want == 200 {
                assert_eq!(r.body, json!([]), "{name} as {who}");
            }
        }
    }

    // The pages' empty state, with the download link.
    for path in [
        format!("/licenses/{globex}"),
        "/artifacts/charts/web".into(),
    ] {
        let html = app.get_text(&ro_web, &path).await;
        assert!(
            html.contains("No pulls yet.") && html.contains(">Download CSV</a>"),
            "{path}: {html}"
        );
    }
}

/// The pulls in the log (read after a restart: a graceful stop writes what
/// the writer still holds), newest first; the server runs again after.
async fn logged_pulls(app: TestApp, token: &str) -> (TestApp, Vec<Value>) {
    let mut app = app;
    let exit = app.terminate();
    assert!(exit.success(), "{exit:?}");
    let app = TestApp::spawn_in(app.kill(), &[]);
    let pulls = app.api(token).get_ok("/api/v1/pulls").await["pulls"]
        .as_array()
        .unwrap()
        .clone();
    (app, pulls)
}

/// Identical pulls in one second share a row with a count: a burst of them
/// is a few rows, and every pull is counted.
#[tokio::test]
async fn a_burst_of_identical_pulls_is_counted_in_few_rows() {
    let app = TestApp::spawn();
    let vendor = app.vendor("acme", ADMIN, PASSWORD);
    vendor.push_image("acme/web", "1.0", &[b"layer"]).await;
    app.api(vendor.token())
        .customer("Globex", "c@globex.test", "customer password")
        .await;
    let customer = app.reg("c@globex.test");
    let burst = (0..50).map(|_| customer.status(Method::GET, "/v2/acme/web/manifests/1.0"));
    let statuses = futures::future::join_all(burst).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let (_app, pulls) = logged_pulls(app, vendor.token()).await;
    let counted: i64 = pulls.iter().map(|p| p["count"].as_i64().unwrap()).sum();
    assert_eq!(counted, 50, "{pulls:?}");
    // (A row a second, and a write a second: a few rows, not 50.)
    assert!(pulls.len() < 10, "{pulls:?}");
    for p in &pulls {
        assert_eq!(
            (p["tag"].as_str(), p["user_email"].as_str()),
            (Some("1.0"), Some("c@globex.test"))
        );
    }
}

/// A real client pulling a multi-platform image reads the index and then
/// the child manifest(s): one pull, recorded once, with the index's tag
/// and digest.
#[tokio::test]
async fn skopeo_pulling_a_multi_platform_image_is_one_pull() {
    use common::clients::{digest_of, push_umoci_image, run};
    use std::process::Command;
    let app = TestApp::spawn();
    let vendor = app.vendor("acme", ADMIN, PASSWORD);
    let token = vendor.token();
    let host = app.host();
    let vendor_creds = vendor.creds();
    // Two platform images (umoci), pushed with skopeo, and an index of them.
    let work = tempfile::tempdir().unwrap();
    let mut entries = vec![];
    for (arch, content) in [("amd64", "amd64\n"), ("arm64", "arm64\n")] {
        let dest = format!("docker://{host}/acme/multi:{arch}");
        push_umoci_image(work.path(), arch, content, &dest, &vendor_creds);
        let digest = digest_of(&dest, Some(&vendor_creds));
        let (status, body) = vendor
            .fetch(Method::GET, &format!("/v2/acme/multi/manifests/{digest}"))
            .await;
        assert_eq!(status, 200);
        entries.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": body.len(),
            "platform": {"os": "linux", "architecture": arch},
        }));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    }))
    .unwrap();
    let child = |i: usize| entries[i]["digest"].as_str().unwrap().to_owned();
    let (amd64, arm64) = (child(0), child(1));
    // What a client fetched: the manifests in its OCI layout.
    let fetched = |out: &str, digest: &str| {
        work.path()
            .join(out)
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
            .exists()
    };
    let index_digest = vendor
        .put_manifest(
            "acme/multi",
            "1.0",
            "application/vnd.oci.image.index.v1+json",
            &index,
        )
        .await;
    let api = app.api(token);
    api.customer("Globex", "c@globex.test", "customer password")
        .await;
    let creds = format!("c@globex.test:{}", app.token("c@globex.test", &[]));
    let pull = |app: &TestApp, extra: &[&str], out: &str| {
        let host = app.host();
        let dest = format!("oci:{}:1.0", work.path().join(out).display());
        run(Command::new("skopeo")
            .arg("copy")
            .args(extra)
            .args(["--src-tls-verify=false", "--src-creds", &creds])
            .arg(format!("docker://{host}/acme/multi:1.0"))
            .arg(dest));
    };

    // One platform: the index, then the arm64 child.
    pull(
        &app,
        &["--override-os", "linux", "--override-arch", "arm64"],
        "one",
    );
    assert!(fetched("one", &arm64) && !fetched("one", &amd64));
    let (app, pulls) = logged_pulls(app, token).await;
    let seen: Vec<(&str, &str, &str)> = pulls
        .iter()
        .map(|p| {
            (
                p["artifact"].as_str().unwrap(),
                p["tag"].as_str().unwrap_or("by digest"),
                p["digest"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("multi", "1.0", index_digest.as_str())], "{pulls:?}");

    // Every platform (the index and both children): one more pull.
    // (The server runs again, on another port.)
    pull(&app, &["--all"], "all");
    assert!(fetched("all", &arm64) && fetched("all", &amd64) && fetched("all", &index_digest));
    let (_app, pulls) = logged_pulls(app, token).await;
    assert_eq!(pulls.len(), 2, "{pulls:?}");
    assert_eq!(
        (pulls[0]["tag"].as_str(), pulls[0]["digest"].as_str()),
        (Some("1.0"), Some(index_digest.as_str()))
    );
    assert_eq!(pulls[0]["user_email"], "c@globex.test");
}

/// Clients that resolve a tag with a HEAD and then GET the manifest by
/// digest (docker's containerd resolver, helm, oras-go) have the pull
/// logged with the tag; a GET by digest nobody resolved has none.
#[tokio::test]
async fn a_get_by_digest_after_a_head_by_tag_is_logged_with_the_tag() {
    let app = TestApp::spawn();
    let vendor = app.vendor("acme", ADMIN, PASSWORD);
    let (digest, _) = vendor.push_image("acme/web", "1.0", &[b"layer"]).await;
    app.api(vendor.token())
        .customer("Globex", "c@globex.test", "customer password")
        .await;
    let by_digest = format!("/v2/acme/web/manifests/{digest}");

    // `docker pull acme/web:1.0`: HEAD by tag, then GET by digest.
    let resolving = app.reg("c@globex.test");
    let head = resolving
        .send(Method::HEAD, "/v2/acme/web/manifests/1.0")
        .await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(resolving.status(Method::GET, &by_digest).await, 200);
    // `docker pull acme/web@sha256:…` with another token: no tag.
    let pinned = app.reg("c@globex.test");
    assert_eq!(pinned.status(Method::GET, &by_digest).await, 200);

    let (_app, pulls) = logged_pulls(app, vendor.token()).await;
    let mut seen: Vec<(Value, &str)> = pulls
        .iter()
        .map(|p| (p["tag"].clone(), p["digest"].as_str().unwrap()))
        .collect();
    seen.sort_by_key(|(tag, _)| tag.to_string());
    assert_eq!(
        seen,
        [
            (json!("1.0"), digest.as_str()),
            (Value::Null, digest.as_str())
        ],
        "{pulls:?}"
    );
}
