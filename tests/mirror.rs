//! Upstream mirroring (issue 14) against real upstreams on loopback: a
//! second `portcullis serve` with authentication on, and Debian's
//! `docker-registry` without it; mirrored blobs in an S3 bucket (moto).

mod common;

use common::clients::{run, skopeo_pull, skopeo_push, umoci_image};
use common::registry::{sha256, Reg};
use common::s3::{pairs, S3Server};
use common::{Api, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

const SECRET_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A mirroring server: loopback and plain-http upstreams allowed (tests).
fn mirror_server() -> TestApp {
    TestApp::spawn_with_env(&[
        ("PORTCULLIS_UPSTREAM_ALLOW_PRIVATE", "true"),
        ("PORTCULLIS_UPSTREAM_ALLOW_HTTP", "true"),
        ("PORTCULLIS_SECRET_KEY", SECRET_KEY),
    ])
}

/// Polls the upstream until `done` says so (at most 120 s).
async fn wait_for(api: &Api, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let u = api.get_ok(&format!("/api/v1/upstreams/{id}")).await;
        if done(&u) {
            return u;
        }
        assert!(Instant::now() < deadline, "{what}: still {u}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Until a sync after `previous` (a `last_synced_at`) succeeded. (A state
/// of "failed" may still be the previous run's: the deadline tells.)
async fn wait_synced(api: &Api, id: i64, previous: &Value) -> Value {
    wait_for(api, id, "sync", |u| {
        u["state"] == "idle" && &u["last_synced_at"] != previous && !u["last_synced_at"].is_null()
    })
    .await
}

async fn wait_failed(api: &Api, id: i64) -> Value {
    wait_for(api, id, "failure", |u| u["state"] == "failed").await
}

/// Waits for upstream `id` to fail with an error that starts with `error`.
async fn fails_with(api: &Api, id: i64, error: &str) {
    let failed = wait_failed(api, id).await;
    assert!(
        failed["last_error"].as_str().unwrap().starts_with(error),
        "{failed}"
    );
}

/// Pushes a blob and returns its descriptor.
async fn blob(reg: &Reg, repo: &str, media_type: &str, data: &[u8]) -> Value {
    let digest = reg.push_blob(repo, data).await;
    json!({"mediaType": media_type, "digest": digest, "size": data.len()})
}

/// Pushes a manifest (by tag, or by digest when `tag` is None); its digest.
async fn manifest(reg: &Reg, repo: &str, tag: Option<&str>, body: &Value) -> (String, usize) {
    let bytes = serde_json::to_vec(body).unwrap();
    let media_type = body["mediaType"].as_str().unwrap();
    let reference = tag.map(str::to_owned).unwrap_or_else(|| sha256(&bytes));
    (
        reg.put_manifest(repo, &reference, media_type, &bytes).await,
        bytes.len(),
    )
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

async fn image(
    reg: &Reg,
    repo: &str,
    tag: Option<&str>,
    platform: &str,
    layers: &[&[u8]],
) -> (String, usize) {
    let config = blob(
        reg,
        repo,
        "application/vnd.oci.image.config.v1+json",
        json!({"architecture": platform, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
            .to_string()
            .as_bytes(),
    )
    .await;
    let mut ls = vec![];
    for l in layers {
        ls.push(blob(reg, repo, LAYER, l).await);
    }
    manifest(
        reg,
        repo,
        tag,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": ls}),
    )
    .await
}

#[tokio::test]
async fn mirrors_images_indexes_charts_and_referrers_from_an_upstream_with_auth() {
    // The upstream: a Portcullis with its own org, pushed to by the vendor's CI.
    let upstream = TestApp::spawn();
    let up = upstream.vendor("hooli-up", "ci@hooli-up.test", "upstream-admin-pw");
    let up_token = up.token().to_owned();
    let layer_a = vec![b'a'; 300_000];
    let layer_b = vec![b'b'; 5_000];
    let (v1, v1_size) = image(
        &up,
        "hooli-up/web",
        Some("1.0"),
        "amd64",
        &[&layer_a, &layer_b],
    )
    .await;
    let (amd, amd_size) = image(&up, "hooli-up/web", None, "amd64", &[b"amd64 layer"]).await;
    let (arm, arm_size) = image(&up, "hooli-up/web", None, "arm64", &[b"arm64 layer"]).await;
    let (multi, _) = manifest(
        &up,
        "hooli-up/web",
        Some("multi"),
        &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd, "size": amd_size, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": OCI_MANIFEST, "digest": arm, "size": arm_size, "platform": {"os": "linux", "architecture": "arm64"}},
        ]}),
    )
    .await;
    // A referrer of 1.0 (an SBOM), pushed by digest.
    let empty = blob(
        &up,
        "hooli-up/web",
        "application/vnd.oci.empty.v1+json",
        b"{}",
    )
    .await;
    let sbom = blob(
        &up,
        "hooli-up/web",
        "application/spdx+json",
        b"{\"spdx\": true}",
    )
    .await;
    let (sbom_digest, _) = manifest(
        &up,
        "hooli-up/web",
        None,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
            "config": empty, "layers": [sbom],
            "subject": {"mediaType": OCI_MANIFEST, "digest": v1, "size": v1_size}}),
    )
    .await;
    // A Helm chart in another repository.
    let chart_config = blob(
        &up,
        "hooli-up/chart",
        "application/vnd.cncf.helm.config.v1+json",
        b"{\"name\":\"chart\",\"version\":\"0.1.0\"}",
    )
    .await;
    let chart_tgz = blob(
        &up,
        "hooli-up/chart",
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        b"not really a tarball",
    )
    .await;
    let (chart, _) = manifest(
        &up,
        "hooli-up/chart",
        Some("0.1.0"),
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": chart_config, "layers": [chart_tgz]}),
    )
    .await;

    // The mirror: Portcullis in front of the vendor's customers.
    let mirror = mirror_server();
    mirror.create_pro_org("hooli", "admin@hooli.test", "mirror-admin-pw");
    let token = mirror.token("admin@hooli.test", &[]);
    let api = mirror.api(&token);
    let (s, web) = api
        .send(
            Method::POST,
            "/api/v1/upstreams",
            Some(
                json!({"artifact": "web", "url": upstream.base, "repository": "hooli-up/web",
                "username": "ci@hooli-up.test", "password": up_token, "tags": "all"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{web}");
    assert_eq!(web["credentials"], "set");
    assert_eq!(web["interval_minutes"], 60);
    assert_eq!(web["mirror_deletions"], false);
    assert!(!web.to_string().contains(&up_token));
    let web_id = web["id"].as_i64().unwrap();
    let (s, c) = api
        .send(
            Method::POST,
            "/api/v1/upstreams",
            Some(json!({"artifact": "charts/chart", "url": upstream.base, "repository": "hooli-up/chart",
                "username": "ci@hooli-up.test", "password": up_token, "tags": ["0.1.0"]})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let chart_id = c["id"].as_i64().unwrap();

    // Synced once at creation.
    let synced = wait_synced(&api, web_id, &Value::Null).await;
    let mut tags: Vec<String> = serde_json::from_value(synced["tags_synced"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["1.0", "multi"]);
    assert!(
        synced["progress"]["bytes"].as_i64().unwrap() >= 305_000,
        "{synced}"
    );
    assert_eq!(synced["last_error"], Value::Null);
    wait_synced(&api, chart_id, &Value::Null).await;

    // It is like a pushed artifact: same digests, blobs, children, referrers, kinds.
    let reg = Reg::new(&mirror.base, "admin@hooli.test", &token);
    let head = reg.send(Method::HEAD, "/v2/hooli/web/manifests/1.0").await;
    assert_eq!(head.headers()["docker-content-digest"], v1.as_str());
    assert_eq!(
        reg.send(Method::GET, "/v2/hooli/web/manifests/multi")
            .await
            .headers()["docker-content-digest"],
        multi.as_str()
    );
    for d in [&amd, &arm] {
        assert_eq!(
            reg.status(Method::GET, &format!("/v2/hooli/web/manifests/{d}"))
                .await,
            200
        );
    }
    let (_, body) = reg
        .fetch(
            Method::GET,
            &format!("/v2/hooli/web/blobs/sha256:{}", sha256_hex(&layer_a)),
        )
        .await;
    assert_eq!(body.len(), layer_a.len());
    let referrers = reg
        .json(Method::GET, &format!("/v2/hooli/web/referrers/{v1}"))
        .await;
    assert_eq!(
        referrers["manifests"][0]["digest"],
        sbom_digest.as_str(),
        "{referrers}"
    );
    let artifacts = api.get_ok("/api/v1/artifacts").await.to_string();
    assert!(artifacts.contains("\"helm-chart\""), "{artifacts}");
    assert!(artifacts.contains("\"container-image\""), "{artifacts}");
    assert!(artifacts.contains("linux/arm64"), "{artifacts}");
    assert_eq!(
        reg.send(Method::HEAD, "/v2/hooli/charts/chart/manifests/0.1.0")
            .await
            .headers()["docker-content-digest"],
        chart.as_str()
    );

    // A customer entitled to tag 1.0 only.
    let (customer, _) = api
        .customer("Initech", "ops@initech.test", "customer-pw-123")
        .await;
    api.entitle(
        customer,
        json!({"name": "web 1.0", "artifacts": [{"artifact": "web", "tags": ["1.0"]}]}),
    )
    .await;
    let customer_token = mirror.token("ops@initech.test", &[]);
    let dest = tempfile::tempdir().unwrap();
    let host = mirror.host();
    skopeo_pull(
        &format!("docker://{host}/hooli/web:1.0"),
        &format!("oci:{}:pulled", dest.path().display()),
        &format!("ops@initech.test:{customer_token}"),
    );

    // The vendor re-pushes 1.0 upstream: after a sync the tag moves here,
    // and the old digest stays pullable for the customer.
    let (v2, _) = image(&up, "hooli-up/web", Some("1.0"), "amd64", &[b"new layer"]).await;
    assert_ne!(v1, v2);
    let (s, started) = api
        .send(
            Method::POST,
            &format!("/api/v1/upstreams/{web_id}/sync"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{started}");
    wait_synced(&api, web_id, &synced["last_synced_at"]).await;
    let cust = Reg::new(&mirror.base, "ops@initech.test", &customer_token);
    let head = cust.send(Method::HEAD, "/v2/hooli/web/manifests/1.0").await;
    assert_eq!(head.headers()["docker-content-digest"], v2.as_str());
    assert_eq!(
        cust.status(Method::GET, &format!("/v2/hooli/web/manifests/{v1}"))
            .await,
        200
    );
    // Not entitled to "multi".
    assert_eq!(
        cust.status(Method::GET, "/v2/hooli/web/manifests/multi")
            .await,
        404
    );

    // The upstream's token appears in no answer, page or log line, and not
    // in plain text in the database.
    let list = api.get_ok("/api/v1/upstreams").await.to_string();
    assert!(list.contains("\"credentials\":\"set\""), "{list}");
    let browser = mirror_browser(&mirror, "admin@hooli.test", "mirror-admin-pw").await;
    for path in ["/artifacts", "/artifacts/web"] {
        let page = browser
            .get(mirror.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains(&up_token), "{path}");
    }
    for text in [list, mirror.logs(), stored_text(&mirror).await] {
        assert!(!text.contains(&up_token));
    }
}

/// Everything the server's database holds, as text: the SQLite file, or
/// on PostgreSQL every row of every table.
async fn stored_text(app: &TestApp) -> String {
    let Some(url) = &app.database_url else {
        return String::from_utf8_lossy(&std::fs::read(app.db_path()).unwrap()).into_owned();
    };
    let db = sqlx::PgPool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "upstreams"), "{tables:?}");
    let mut all = String::new();
    for t in tables {
        let rows: Option<String> = sqlx::query_scalar(&format!(
            "SELECT string_agg(t::text, E'\\n') FROM \"{t}\" t"
        ))
        .fetch_one(&db)
        .await
        .unwrap();
        all.push_str(&rows.unwrap_or_default());
    }
    all
}

fn sha256_hex(data: &[u8]) -> String {
    sha256(data).trim_start_matches("sha256:").to_owned()
}

/// A signed-in browser session of the mirror's console.
async fn mirror_browser(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    app.signed_in(email, password).await
}

#[tokio::test]
async fn failures_are_told_in_words_without_breaking_other_upstreams() {
    let upstream = TestApp::spawn();
    let up = upstream.vendor("hooli-src", "ci@hooli-src.test", "upstream-admin-pw");
    let up_token = up.token().to_owned();
    image(
        &up,
        "hooli-src/app",
        Some("2.0"),
        "amd64",
        &[b"layer one", b"layer two"],
    )
    .await;

    let mirror = mirror_server();
    mirror.create_org("hooli", "admin@hooli.test", "mirror-admin-pw");
    let token = mirror.token("admin@hooli.test", &[]);
    let api = mirror.api(&token);
    let create = |artifact: &str, url: &str, repository: &str, password: &str| {
        json!({"artifact": artifact, "url": url, "repository": repository,
            "username": "ci@hooli-src.test", "password": password})
    };
    // A port nothing listens on: port 1 (tcpmux), which no server of the
    // test run can be given (ports are handed out from the ephemeral range,
    // above 32767). A port bound and let go here could be taken by another
    // test's server before the sync connects, which then answered.
    let closed_url = "http://127.0.0.1:1".to_owned();
    let mut ids = vec![];
    for body in [
        create(
            "wrong-password",
            &upstream.base,
            "hooli-src/app",
            "pcl_not-the-token",
        ),
        create("unknown-repo", &upstream.base, "hooli-src/nope", &up_token),
        create("unreachable", &closed_url, "hooli-src/app", &up_token),
        create("good", &upstream.base, "hooli-src/app", &up_token),
    ] {
        let (s, u) = api
            .send(Method::POST, "/api/v1/upstreams", Some(body))
            .await;
        assert_eq!(s, 201, "{u}");
        ids.push(u["id"].as_i64().unwrap());
    }
    fails_with(&api, ids[0], "wrong credentials").await;
    fails_with(&api, ids[1], "not found").await;
    fails_with(&api, ids[2], "unreachable").await;
    let good = wait_synced(&api, ids[3], &Value::Null).await;
    assert_eq!(good["tags_synced"], json!(["2.0"]));

    // Link-local and metadata addresses are refused, whatever the settings.
    for url in ["http://169.254.169.254", "https://[fe80::1]:5000"] {
        let (s, e) = api
            .send(
                Method::POST,
                "/api/v1/upstreams",
                Some(create("meta", url, "x/y", "p")),
            )
            .await;
        assert_eq!(s, 422, "{url}: {e}");
        assert!(
            e["error"]["fields"]["url"]
                .as_str()
                .unwrap()
                .contains("link-local"),
            "{e}"
        );
    }
    // Field errors come next to their fields.
    let (s, e) = api
        .send(
            Method::POST,
            "/api/v1/upstreams",
            Some(json!({"artifact": "Bad Name", "url": "ghcr.io", "repository": "", "tags": [], "interval_minutes": 0})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    for f in ["artifact", "url", "repository", "tags", "interval_minutes"] {
        assert!(e["error"]["fields"][f].is_string(), "{f}: {e}");
    }
    // One upstream per artifact.
    let (s, e) = api
        .send(
            Method::POST,
            "/api/v1/upstreams",
            Some(create("good", &upstream.base, "hooli-src/app", "")),
        )
        .await;
    assert_eq!(s, 422, "{e}");

    // PATCH: the right password fixes it; the next sync works.
    let (s, fixed) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/upstreams/{}", ids[0]),
            Some(json!({"password": up_token})),
        )
        .await;
    assert_eq!(s, 200, "{fixed}");
    api.ok(
        Method::POST,
        &format!("/api/v1/upstreams/{}/sync", ids[0]),
        None,
    )
    .await;
    wait_synced(&api, ids[0], &Value::Null).await;

    // Another org sees none of it; read-only users cannot change it.
    mirror.create_org("other", "admin@other.test", "other-admin-pw");
    let other = mirror.api(&mirror.token("admin@other.test", &[]));
    assert_eq!(
        other.get_ok("/api/v1/upstreams").await["upstreams"],
        json!([])
    );
    let path = format!("/api/v1/upstreams/{}", ids[3]);
    for (m, p) in [
        (Method::GET, path.clone()),
        (Method::PATCH, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::POST, format!("{path}/sync")),
    ] {
        let body = (m == Method::PATCH).then(|| json!({"interval_minutes": 5}));
        let (s, _) = other.send(m.clone(), &p, body).await;
        assert_eq!(s, 404, "{m} {p}");
    }
    let reader = mirror_add_reader(&mirror).await;
    let (s, _) = reader
        .send(Method::POST, &format!("{path}/sync"), None)
        .await;
    assert_eq!(s, 403);
    let (s, _) = reader.send(Method::GET, &path, None).await;
    assert_eq!(s, 200);
    assert_eq!(api.send(Method::DELETE, &path, None).await.0, 204);
    assert_eq!(api.send(Method::GET, &path, None).await.0, 404);
    let logs = mirror.logs();
    assert!(!logs.contains(&up_token));
    assert!(!logs.contains("pcl_not-the-token"));
}

/// A read_only vendor user of the mirror's org, as an API client.
async fn mirror_add_reader(app: &TestApp) -> Api {
    let admin = mirror_browser(app, "admin@hooli.test", "mirror-admin-pw").await;
    let added = app
        .add_vendor_user(
            &admin,
            "reader@hooli.test",
            "reader-password-1",
            "read_only",
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    app.api(&app.token("reader@hooli.test", &[]))
}

/// Debian's `docker-registry` (distribution 2.8) on a free port, without
/// authentication.
struct Distribution {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn distribution() -> Distribution {
    // A free port is found by binding one and letting it go, so another
    // server of the test run may take it first: then docker-registry exits
    // (the address is in use) and it starts again on another port.
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry (apt install docker-registry)");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            // Ours answers /v2/ with 200 (no authentication); a Portcullis
            // that took the port would answer 401.
            if answers_v2(&addr) {
                return Distribution {
                    child,
                    addr,
                    _dir: dir,
                };
            }
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("docker-registry exited at start five times (no free port?)");
}

/// Whether a registry without authentication answers `GET /v2/` at `addr`.
fn answers_v2(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut status = [0u8; 12];
    stream
        .write_all(b"GET /v2/ HTTP/1.0\r\nHost: registry\r\n\r\n")
        .is_ok()
        && stream.read_exact(&mut status).is_ok()
        && status.starts_with(b"HTTP/1.")
        && &status[9..12] == b"200"
}

/// docker-registry with `vendor/app:1.0`, an umoci image (in `work`)
/// pushed with skopeo.
fn distribution_with_app(work: &std::path::Path) -> Distribution {
    let registry = distribution();
    let src = umoci_image(work);
    skopeo_push(
        &src,
        &format!("docker://{}/vendor/app:1.0", registry.addr),
        None,
    );
    registry
}

/// Org hooli on `mirror` with an upstream mirroring `registry`'s
/// `vendor/app` as artifact app, synced once (tag 1.0): the admin's
/// registry client and API, the upstream as created, and as synced.
async fn mirror_app(mirror: &TestApp, registry: &Distribution) -> (Reg, Api, Value, Value) {
    mirror.create_org("hooli", "admin@hooli.test", "mirror-admin-pw");
    let reg = mirror.reg("admin@hooli.test");
    let api = mirror.api(reg.token());
    let (s, u) = api
        .send(
            Method::POST,
            "/api/v1/upstreams",
            Some(json!({"artifact": "app", "url": format!("http://{}", registry.addr), "repository": "vendor/app"})),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let synced = wait_synced(&api, u["id"].as_i64().unwrap(), &Value::Null).await;
    assert_eq!(synced["tags_synced"], json!(["1.0"]));
    (reg, api, u, synced)
}

/// skopeo pulls `hooli/app:1.0` from `mirror` as `reg`'s user.
fn pull_app(mirror: &TestApp, reg: &Reg) {
    let dest = tempfile::tempdir().unwrap();
    skopeo_pull(
        &format!("docker://{}/hooli/app:1.0", mirror.host()),
        &format!("oci:{}:pulled", dest.path().display()),
        &reg.creds(),
    );
}

#[tokio::test]
async fn mirrors_from_docker_registry_without_auth() {
    let work = tempfile::tempdir().unwrap();
    let registry = distribution_with_app(work.path());
    let digest = common::clients::digest_of(
        &format!("docker://{}/vendor/app:1.0", registry.addr),
        Some("x:y"),
    );

    let mirror = mirror_server();
    let (reg, api, u, synced) = mirror_app(&mirror, &registry).await;
    assert_eq!(u["credentials"], "not set");
    pull_app(&mirror, &reg);
    let head = reg.send(Method::HEAD, "/v2/hooli/app/manifests/1.0").await;
    assert_eq!(head.headers()["docker-content-digest"], digest.as_str());

    // A tag deleted upstream is kept here, unless deletions are mirrored.
    let other = tempfile::tempdir().unwrap();
    let src2 = common::clients::umoci_image_with(other.path(), "another build\n");
    skopeo_push(
        &src2,
        &format!("docker://{}/vendor/app:2.0", registry.addr),
        None,
    );
    let id = u["id"].as_i64().unwrap();
    api.ok(Method::POST, &format!("/api/v1/upstreams/{id}/sync"), None)
        .await;
    let second = wait_synced(&api, id, &synced["last_synced_at"]).await;
    let mut tags: Vec<String> = serde_json::from_value(second["tags_synced"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["1.0", "2.0"]);
    run(Command::new("skopeo")
        .args(["delete", "--tls-verify=false"])
        .arg(format!("docker://{}/vendor/app:2.0", registry.addr)));
    api.ok(Method::POST, &format!("/api/v1/upstreams/{id}/sync"), None)
        .await;
    let third = wait_synced(&api, id, &second["last_synced_at"]).await;
    assert_eq!(third["tags_synced"], json!(["1.0"]));
    assert_eq!(
        reg.status(Method::HEAD, "/v2/hooli/app/manifests/2.0")
            .await,
        200
    );
    let (s, patched) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/upstreams/{id}"),
            Some(json!({"mirror_deletions": true})),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    api.ok(Method::POST, &format!("/api/v1/upstreams/{id}/sync"), None)
        .await;
    wait_synced(&api, id, &third["last_synced_at"]).await;
    let tags = ["/v2/hooli/app/manifests/2.0", "/v2/hooli/app/manifests/1.0"];
    assert_eq!(reg.statuses(Method::HEAD, &tags).await, [404, 200]);
}

#[tokio::test]
async fn mirrored_blobs_land_in_the_configured_bucket() {
    let work = tempfile::tempdir().unwrap();
    let registry = distribution_with_app(work.path());

    let s3 = S3Server::start("mirror").await;
    let mut env = s3.env("mirrored");
    env.extend(
        [
            ("PORTCULLIS_UPSTREAM_ALLOW_PRIVATE", "true"),
            ("PORTCULLIS_UPSTREAM_ALLOW_HTTP", "true"),
            ("PORTCULLIS_SECRET_KEY", SECRET_KEY),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let mirror = TestApp::spawn_with_env(&pairs(&env));
    let (reg, _api, _, _) = mirror_app(&mirror, &registry).await;

    // Every blob of the image is an object in the bucket; no upload chunk
    // is left and nothing was written to the data directory's folder.
    let manifest = reg.json(Method::GET, "/v2/hooli/app/manifests/1.0").await;
    let mut digests = vec![manifest["config"]["digest"].as_str().unwrap().to_owned()];
    for layer in manifest["layers"].as_array().unwrap() {
        digests.push(layer["digest"].as_str().unwrap().to_owned());
    }
    let keys = s3.keys("mirrored/blobs/").await;
    for d in &digests {
        let hex = d.trim_start_matches("sha256:");
        let key = format!("mirrored/blobs/sha256/{}/{hex}", &hex[..2]);
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
    assert!(s3.keys("mirrored/_uploads/").await.is_empty());
    assert!(!mirror.data_dir().join("blobs").exists());

    // And a client pulls the mirrored image from there.
    pull_app(&mirror, &reg);
}

/// An upstream on loopback (allowed here) that serves a tag whose config
/// blob redirects to the cloud metadata address, as a compromised or
/// malicious registry could.
async fn redirecting_upstream() -> String {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let config = b"{}".to_vec();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": common::registry::sha256(&config), "size": config.len()},
        "layers": [],
    }))
    .unwrap();
    let digest = common::registry::sha256(&manifest);
    let app = axum::Router::new()
        .route("/v2/", axum::routing::get(|| async { "{}" }))
        .route(
            "/v2/evil/app/tags/list",
            axum::routing::get(|| async {
                axum::Json(json!({"name": "evil/app", "tags": ["1.0"]}))
            }),
        )
        .route(
            "/v2/evil/app/manifests/{reference}",
            axum::routing::get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, OCI_MANIFEST.to_owned()),
                        (
                            header::HeaderName::from_static("docker-content-digest"),
                            digest,
                        ),
                    ],
                    manifest,
                )
                    .into_response()
            }),
        )
        .route(
            "/v2/evil/app/blobs/{digest}",
            axum::routing::get(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "http://169.254.169.254/latest/meta-data/")],
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn every_connection_is_checked_redirects_included() {
    // The upstream's own address is allowed (loopback, with private allowed),
    // so only a check at connection time can refuse where it redirects.
    let upstream = redirecting_upstream().await;
    let mirror = mirror_server();
    mirror.create_org(
        "hooli-redirect",
        "admin@hooli-redirect.test",
        "mirror-admin-pw",
    );
    let api = mirror.api(&mirror.token("admin@hooli-redirect.test", &[]));
    let (s, u) = api
        .send(
            Method::POST,
            "/api/v1/upstreams",
            Some(json!({"artifact": "app", "url": upstream, "repository": "evil/app"})),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let failed = wait_failed(&api, u["id"].as_i64().unwrap()).await;
    let error = failed["last_error"].as_str().unwrap();
    assert!(
        error.starts_with("refused: 169.254.169.254:80 is a link-local"),
        "{failed}"
    );
    assert_eq!(failed["tags_synced"], json!([]));
}
