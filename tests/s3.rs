//! Blob storage in an S3-compatible bucket (a real moto server on a free
//! loopback port), upload sessions in the database (a chunked upload split
//! across two instances, and across a restart), repository changes across
//! instances, `/healthz` and `/metrics`.

mod common;

use common::clients::skopeo_round_trip;
use common::registry::{sha256, Reg};
use common::s3::{pairs, S3Server};
use common::TestApp;
use reqwest::Method;
use std::time::{Duration, Instant};

const ADMIN: &str = "a@acme.test";

/// A server with its blobs in `s3`'s bucket under `prefix`, an org and a
/// vendor client.
fn app_in(s3: &S3Server, prefix: &str) -> (TestApp, Reg) {
    let env = s3.env(prefix);
    let app = TestApp::spawn_with_env(&pairs(&env));
    let reg = app.vendor("acme", ADMIN, "admin password");
    (app, reg)
}

/// Starts an upload; its location.
async fn start_upload(reg: &Reg) -> String {
    let r = reg.send(Method::POST, "/v2/acme/web/blobs/uploads/").await;
    assert_eq!(r.status(), 202);
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// PATCHes `data` at `start`; the answer's status and `Range`.
async fn patch(reg: &Reg, loc: &str, start: usize, data: &[u8]) -> (u16, String) {
    let r = reg
        .req(Method::PATCH, loc)
        .header(
            "Content-Range",
            format!("{start}-{}", start + data.len() - 1),
        )
        .body(data.to_vec())
        .send()
        .await
        .unwrap();
    let range = r
        .headers()
        .get("range")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), range)
}

#[tokio::test]
async fn skopeo_pushes_and_pulls_through_a_bucket() {
    let s3 = S3Server::start("skopeo").await;
    let (app, reg) = app_in(&s3, "reg/one");
    let work = tempfile::tempdir().unwrap();
    skopeo_round_trip(work.path(), &app.host(), &reg.creds());
    // The blobs are in the bucket, under the prefix; none on disk, and no
    // upload left over.
    let blobs = s3.keys("reg/one/blobs/sha256/").await;
    assert!(blobs.len() >= 2, "{blobs:?}");
    assert!(s3.keys("reg/one/_uploads/").await.is_empty());
    assert!(!app.data_dir().join("blobs").exists());
}

#[tokio::test]
async fn chunked_upload_and_range_gets_from_a_bucket() {
    let s3 = S3Server::start("chunks").await;
    let (_app, reg) = app_in(&s3, "");
    // 9 MiB and a bit: the first chunk is an S3 multipart upload of two
    // parts (8 MiB each at most), the others single PUTs.
    let data: Vec<u8> = (0..9 * 1024 * 1024 + 12_345)
        .map(|i: usize| (i % 251) as u8)
        .collect();
    let digest = sha256(&data);
    let loc = start_upload(&reg).await;
    let cuts = [0, 8 * 1024 * 1024 + 100, 9 * 1024 * 1024, data.len()];
    for w in cuts.windows(2) {
        let (status, range) = patch(&reg, &loc, w[0], &data[w[0]..w[1]]).await;
        assert_eq!(status, 202);
        assert_eq!(range, format!("0-{}", w[1] - 1));
    }
    // Out of order: 416, and the upload stays where it was.
    let (status, range) = patch(&reg, &loc, 5, b"late").await;
    assert_eq!(
        (status, range.as_str()),
        (416, format!("0-{}", data.len() - 1).as_str())
    );
    assert_eq!(reg.close_upload(&loc, &digest, &[]).await, 201);
    assert!(s3.keys("_uploads/").await.is_empty(), "chunks removed");
    let blob = format!("/v2/acme/web/blobs/{digest}");
    let r = reg.send(Method::GET, &blob).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], data.len().to_string());
    assert_eq!(sha256(&r.bytes().await.unwrap()), digest);
    // Ranges, answered from the bucket.
    let size = data.len();
    for (range, start, end) in [
        ("bytes=100-199", 100, 200),
        ("bytes=8388600-8388700", 8_388_600, 8_388_701),
        ("bytes=-10", size - 10, size),
        (&format!("bytes={}-", size - 3), size - 3, size),
    ] {
        let r = reg
            .req(Method::GET, &blob)
            .header("Range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {start}-{}/{size}", end - 1),
            "{range}"
        );
        assert_eq!(
            r.bytes().await.unwrap().to_vec(),
            data[start..end],
            "{range}"
        );
    }
    let r = reg
        .req(Method::GET, &blob)
        .header("Range", format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], format!("bytes */{size}"));
    // A wrong digest is refused before anything becomes a blob.
    let loc = start_upload(&reg).await;
    assert_eq!(patch(&reg, &loc, 0, b"some bytes").await.0, 202);
    let wrong = sha256(b"other bytes");
    let r = reg
        .req(Method::PUT, &format!("{loc}?digest={wrong}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        reg.status(Method::HEAD, &format!("/v2/acme/web/blobs/{wrong}"))
            .await,
        404
    );
    assert!(
        s3.keys("_uploads/").await.is_empty(),
        "refused chunks removed"
    );
}

#[tokio::test]
async fn an_upload_in_a_bucket_survives_a_restart() {
    let s3 = S3Server::start("restart").await;
    let env = s3.env("p");
    let (app, reg) = app_in(&s3, "p");
    let data = vec![42u8; 300_000];
    let digest = sha256(&data);
    let loc = start_upload(&reg).await;
    assert_eq!(patch(&reg, &loc, 0, &data[..100_000]).await.0, 202);
    let app = TestApp::spawn_in(app.kill(), &pairs(&env));
    let reg = reg.on(&app.base);
    let r = reg.send(Method::GET, &loc).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], "0-99999");
    assert_eq!(patch(&reg, &loc, 100_000, &data[100_000..]).await.0, 202);
    assert_eq!(reg.close_upload(&loc, &digest, &[]).await, 201);
    assert_eq!(reg.blob("acme/web", &digest).await, data);
}

/// Polls `f` until it is true or 10 s have passed.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_instances_share_uploads_and_repository_changes() {
    let s3 = S3Server::start("shared").await;
    let env = s3.env("");
    let (a, reg_a) = app_in(&s3, "");
    let b = TestApp::spawn_beside(&a, &pairs(&env));
    let reg_b = reg_a.on(&b.base);

    // A chunked upload: started and first PATCH on A, second PATCH and
    // the closing PUT on B (no sticky sessions).
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 13) as u8).collect();
    let digest = sha256(&data);
    let loc = start_upload(&reg_a).await;
    assert_eq!(patch(&reg_a, &loc, 0, &data[..70_000]).await.0, 202);
    let r = reg_b.send(Method::GET, &loc).await;
    assert_eq!(r.status(), 204, "B knows A's session");
    assert_eq!(r.headers()["range"], "0-69999");
    assert_eq!(
        patch(&reg_b, &loc, 70_000, &data[70_000..150_000]).await.0,
        202
    );
    assert_eq!(
        reg_b.close_upload(&loc, &digest, &data[150_000..]).await,
        201
    );
    assert_eq!(reg_a.blob("acme/web", &digest).await, data);
    // A session on B closed on A, which never saw its first chunk: A
    // verifies by reading the chunks back from the bucket.
    let loc = start_upload(&reg_b).await;
    assert_eq!(patch(&reg_b, &loc, 0, b"abc").await.0, 202);
    assert_eq!(reg_a.close_upload(&loc, &sha256(b"abcd"), b"d").await, 201);
    // Started on A, a chunk on B, closed on A with the rest: A's view (an
    // empty upload) is stale, and its close goes after B's chunk.
    let loc = start_upload(&reg_a).await;
    assert_eq!(patch(&reg_b, &loc, 0, b"ab").await.0, 202);
    assert_eq!(reg_a.close_upload(&loc, &sha256(b"abcd"), b"cd").await, 201);
    assert_eq!(reg_b.blob("acme/web", &sha256(b"abcd")).await, b"abcd");
    // The same when A's bytes alone have the digest given: the upload (B's
    // chunk, then A's) does not, so it is refused and ends, and no
    // repository has a blob of A's bytes.
    let loc = start_upload(&reg_a).await;
    assert_eq!(patch(&reg_b, &loc, 0, b"xy").await.0, 202);
    let z = sha256(b"z");
    assert_eq!(reg_a.close_upload(&loc, &z, b"z").await, 400);
    assert_eq!(reg_b.send(Method::GET, &loc).await.status(), 404);
    let blob_z = format!("/v2/acme/web/blobs/{z}");
    assert_eq!(reg_b.status(Method::HEAD, &blob_z).await, 404);
    assert_eq!(reg_a.status(Method::HEAD, &blob_z).await, 404);

    // Repository changes reach the other instance's caches: A caches
    // the manifest of 1.0, B moves the tag, A serves the new one.
    let (first, _) = reg_a.push_image("acme/web", "1.0", &[b"one"]).await;
    let tag = "/v2/acme/web/manifests/1.0";
    let digest_at = |reg: Reg| async move {
        let r = reg.send(Method::GET, tag).await;
        match r.status().as_u16() {
            200 => r.headers()["docker-content-digest"]
                .to_str()
                .unwrap()
                .to_owned(),
            s => s.to_string(),
        }
    };
    assert_eq!(digest_at(reg_a.clone()).await, first);
    assert_eq!(digest_at(reg_a.clone()).await, first);
    let (second, _) = reg_b.push_image("acme/web", "1.0", &[b"two"]).await;
    assert_ne!(first, second);
    eventually("A serves the moved tag", || {
        let (reg, second) = (reg_a.clone(), second.clone());
        async move { digest_at(reg).await == second }
    })
    .await;
    // A tag deleted on B is gone on A.
    assert_eq!(reg_b.status(Method::DELETE, tag).await, 202);
    eventually("A forgets the deleted tag", || {
        let reg = reg_a.clone();
        async move { digest_at(reg).await == "404" }
    })
    .await;
    // A manifest deleted by digest on B is gone on A (cached by digest).
    let by_digest = format!("/v2/acme/web/manifests/{first}");
    assert_eq!(reg_a.status(Method::GET, &by_digest).await, 200);
    assert_eq!(reg_b.status(Method::DELETE, &by_digest).await, 202);
    eventually("A forgets the deleted manifest", || {
        let (reg, path) = (reg_a.clone(), by_digest.clone());
        async move { reg.status(Method::GET, &path).await == 404 }
    })
    .await;
}

/// The status and JSON body of `GET /healthz`.
async fn healthz(app: &TestApp) -> (u16, serde_json::Value) {
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn healthz_reports_database_and_storage() {
    let mut s3 = S3Server::start("health").await;
    let (app, _reg) = app_in(&s3, "");
    assert_eq!(
        healthz(&app).await,
        (
            200,
            serde_json::json!({"status": "ok", "database": "ok", "storage": "ok"})
        )
    );
    // The bucket goes away: 503, storage unavailable, and no reason shown.
    s3.stop();
    assert_eq!(
        healthz(&app).await,
        (
            503,
            serde_json::json!({"status": "unavailable", "database": "ok", "storage": "unavailable"})
        )
    );
    // The folder backend.
    let folder = TestApp::spawn();
    let (status, body) = healthz(&folder).await;
    assert_eq!(status, 200);
    assert_eq!(body["storage"], "ok");
}

/// The value of the metric line that starts with `name` (labels included).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_pulls_caches_uploads_and_the_feed() {
    let app = TestApp::spawn();
    let reg = app.vendor("acme", ADMIN, "admin password");
    reg.push_image("acme/web", "1.0", &[b"layer"]).await;
    for _ in 0..3 {
        assert_eq!(
            reg.status(Method::GET, "/v2/acme/web/manifests/1.0").await,
            200
        );
    }
    assert_eq!(
        reg.status(Method::GET, "/v2/acme/web/manifests/2.0").await,
        404
    );
    // An upload with a chunk is stored (and counted); one without is not.
    let open = start_upload(&reg).await;
    assert_eq!(patch(&reg, &open, 0, b"chunk").await.0, 202);
    let _empty = start_upload(&reg).await;
    let http = reqwest::Client::new();
    let r = http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    let get = |name: &str| metric(&text, name).unwrap_or_else(|| panic!("{name} in\n{text}"));
    assert_eq!(
        get("portcullis_http_requests_total{family=\"registry_manifest_pull\",status=\"2xx\"}"),
        3.0
    );
    assert_eq!(
        get("portcullis_http_requests_total{family=\"registry_manifest_pull\",status=\"4xx\"}"),
        1.0
    );
    assert_eq!(
        get("portcullis_http_request_duration_seconds_count{family=\"registry_manifest_pull\",status=\"2xx\"}"),
        3.0
    );
    assert_eq!(
        get("portcullis_registry_pulls_total{kind=\"manifest\"}"),
        3.0
    );
    assert!(get("portcullis_cache_lookups_total{cache=\"manifest\",result=\"hit\"}") >= 2.0);
    assert!(get("portcullis_cache_lookups_total{cache=\"manifest\",result=\"miss\"}") >= 1.0);
    assert_eq!(get("portcullis_upload_sessions_open"), 1.0);
    assert!(get("portcullis_db_pool_connections{state=\"max\"}") >= 1.0);
    assert_eq!(get("portcullis_database_up"), 1.0);
    // This instance's lag in the change feed.
    assert!(
        text.lines()
            .any(|l| l.starts_with("portcullis_change_feed_lag{instance=\"")),
        "{text}"
    );
    // Nothing names an org, a repository or a user.
    for secret in ["acme", "web", ADMIN, reg.token()] {
        assert!(!text.contains(secret), "{secret} in metrics");
    }
    // With a token configured, /metrics wants it.
    let guarded = TestApp::spawn_with_env(&[("PORTCULLIS_METRICS_TOKEN", "scrape-me")]);
    let r = http.get(guarded.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(guarded.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
