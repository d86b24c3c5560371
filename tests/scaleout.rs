//! The scale-out configuration: two `portcullis serve` processes sharing one
//! PostgreSQL database (a throwaway cluster: `domain::testing::postgres`)
//! and one S3 bucket (moto: `common::s3`). What is written through one instance is in
//! effect on the other by the next request after the writer answered: the
//! change feed's NOTIFY wakes every instance, and a writer returns once
//! every live instance has applied its change.

mod common;

use common::clients::{push_umoci_image, run, skopeo_pull};
use common::registry::{sha256, Reg};
use common::s3::{pairs, S3Server};
use common::TestApp;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;

const ADMIN: &str = "a@acme.test";
const CUSTOMER: &str = "c@initech.test";

/// `path` answers like `missing` (same status, same body), with 404.
async fn hidden(reg: &Reg, path: &str, missing: &str) {
    let denied = reg.fetch(Method::GET, path).await;
    assert_eq!(denied.0, 404, "GET {path} should be hidden: {}", denied.1);
    assert_eq!(denied, reg.fetch(Method::GET, missing).await, "GET {path}");
}

#[tokio::test]
async fn two_instances_share_one_database_and_one_bucket() {
    let url = tokio::task::spawn_blocking(domain::testing::postgres::fresh_database)
        .await
        .unwrap();
    let s3 = S3Server::start("scaleout").await;
    let env = s3.env("registry");
    // Each with its own data directory: nothing but the database and the
    // bucket is shared.
    let a = TestApp::spawn_on(
        tempfile::tempdir().unwrap(),
        "127.0.0.1:0",
        &pairs(&env),
        Some(url.clone()),
    );
    let b = TestApp::spawn_on(
        tempfile::tempdir().unwrap(),
        "127.0.0.1:0",
        &pairs(&env),
        Some(url),
    );
    a.create_pro_org("acme", ADMIN, "admin password");

    // Push through A with skopeo: one image the customer will get, one not.
    let vendor_creds = format!("{ADMIN}:{}", a.token(ADMIN, &[]));
    let work = tempfile::tempdir().unwrap();
    for (repo, content) in [("web", "web\n"), ("secret", "secret\n")] {
        let dest = format!("docker://{}/acme/{repo}:1.0", a.host());
        push_umoci_image(work.path(), repo, content, &dest, &vendor_creds);
    }

    // A customer entitled to web, through A.
    let api = a.api(&a.token(ADMIN, &[]));
    let (customer, _) = api.customer("Initech", CUSTOMER, "customer password").await;
    let entitlement = api
        .entitle(
            customer,
            json!({"name": "web", "artifacts": [{"artifact": "web", "tags": "all"}]}),
        )
        .await;
    // Another customer's entitlement: the org keeps one when Initech's
    // goes (with none at all, rule 1 would show everyone everything).
    let (other, _) = api
        .customer("Hooli", "h@hooli.test", "customer password")
        .await;
    api.entitle(
        other,
        json!({"name": "web", "artifacts": [{"artifact": "web", "tags": "all"}]}),
    )
    .await;
    let token = a.token(CUSTOMER, &[]);
    let creds = format!("{CUSTOMER}:{token}");

    // Pull through B with skopeo.
    let out = work.path().join("pulled");
    skopeo_pull(
        &format!("docker://{}/acme/web:1.0", b.host()),
        &format!("oci:{}:1.0", out.display()),
        &creds,
    );
    assert!(out.join("index.json").is_file());
    let pulled = skopeo_inspect(&creds, &format!("docker://{}/acme/web:1.0", b.host()));
    assert_eq!(pulled["RepoTags"], json!(["1.0"]));

    // Uploads split across the two (no sticky sessions). Each step
    // is (instance, method, with a Content-Range?, bytes); the last is the
    // closing PUT. Where A comes back after B took a chunk, A's own view of
    // the upload is stale: it must append after B's chunk, not after its
    // own, and close by reading the chunks back. Each blob then reads back
    // whole from the other instance.
    let vendor_a = a.reg(ADMIN);
    let vendor_b = Reg::new(&b.base, ADMIN, vendor_a.auth.as_ref().unwrap().1.as_str());
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    let (ab, ba) = ([&vendor_a, &vendor_b], [&vendor_b, &vendor_a]);
    type Step<'a> = (usize, Method, bool, std::ops::Range<usize>);
    let uploads: [(&str, [&Reg; 2], Vec<Step>); 4] = [
        (
            "started on A, the whole blob in the close on B (nothing stored before it)",
            ab,
            vec![(1, Method::PUT, false, 0..300_000)],
        ),
        (
            "first chunk on A, second and the close on B",
            ab,
            vec![
                (0, Method::PATCH, true, 0..120_000),
                (1, Method::PATCH, true, 120_000..300_000),
                (1, Method::PUT, false, 300_000..300_000),
            ],
        ),
        (
            "A, B, then A again: a chunk without a range, and the close",
            ab,
            vec![
                (0, Method::PATCH, true, 0..100_000),
                (1, Method::PATCH, true, 100_000..200_000),
                (0, Method::PATCH, false, 200_000..250_000),
                (0, Method::PUT, true, 250_000..300_000),
            ],
        ),
        (
            "B, A, then B closing with the last bytes",
            ba,
            vec![
                (0, Method::PATCH, false, 0..150_000),
                (1, Method::PATCH, true, 150_000..200_000),
                (0, Method::PUT, false, 200_000..300_000),
            ],
        ),
    ];
    for (what, regs, steps) in uploads {
        let blob = &data[..steps.last().unwrap().3.end];
        let digest = sha256(blob);
        let started = regs[0]
            .req(Method::POST, "/v2/acme/web/blobs/uploads/")
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 202, "{what}");
        let location = started.headers()["location"].to_str().unwrap().to_owned();
        let location = location.trim_start_matches(&regs[0].base).to_owned();
        for (who, method, ranged, bytes) in steps {
            let path = if method == Method::PUT {
                let sep = if location.contains('?') { '&' } else { '?' };
                format!("{location}{sep}digest={digest}")
            } else {
                location.clone()
            };
            let mut r = regs[who]
                .req(method.clone(), &path)
                .header("Content-Type", "application/octet-stream")
                .body(data[bytes.clone()].to_vec());
            if ranged {
                r = r.header(
                    "Content-Range",
                    format!("{}-{}", bytes.start, bytes.end - 1),
                );
            }
            let r = r.send().await.unwrap();
            let want = if method == Method::PUT { 201 } else { 202 };
            assert_eq!(r.status(), want, "{what}: {method} {bytes:?} on {who}");
            if method == Method::PATCH {
                assert_eq!(
                    r.headers()["range"],
                    format!("0-{}", bytes.end - 1),
                    "{what}"
                );
            }
        }
        let read = regs[1]
            .req(Method::GET, &format!("/v2/acme/web/blobs/{digest}"))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200, "{what}");
        assert!(
            read.bytes().await.unwrap() == blob,
            "{what}: the blob as uploaded"
        );
    }

    // Hidden equals missing, on both.
    let on_a = Reg::new(&a.base, CUSTOMER, &token);
    let on_b = Reg::new(&b.base, CUSTOMER, &token);
    for reg in [&on_a, &on_b] {
        assert_eq!(
            reg.status(Method::GET, "/v2/acme/web/manifests/1.0").await,
            200
        );
        hidden(
            reg,
            "/v2/acme/secret/manifests/1.0",
            "/v2/acme/no-such-repo/manifests/1.0",
        )
        .await;
        hidden(
            reg,
            "/v2/acme/secret/tags/list",
            "/v2/acme/no-such-repo/tags/list",
        )
        .await;
    }

    // The customer signs in on A; its session (in the database) works on
    // B, where its portal page listens for live updates.
    let browser = a.signed_in(CUSTOMER, "customer password").await;
    let mut portal_on_b = b.events(&browser).await;

    // The entitlement deleted through A: refused on B at the next request.
    api.delete_entitlement(entitlement).await;
    hidden(
        &on_b,
        "/v2/acme/web/manifests/1.0",
        "/v2/acme/no-such-repo/manifests/1.0",
    )
    .await;
    hidden(
        &on_a,
        "/v2/acme/web/manifests/1.0",
        "/v2/acme/no-such-repo/manifests/1.0",
    )
    .await;
    // The portal open on B was told.
    assert_eq!(
        next_event(&mut portal_on_b).await,
        json!({"kind": "access", "customer_id": null})
    );

    // `admin set-plan` returns only after both applied it: on the community
    // plan every customer sees everything, at once on both.
    a.set_plan("acme", "community");
    for reg in [&on_a, &on_b] {
        assert_eq!(
            reg.status(Method::GET, "/v2/acme/secret/manifests/1.0")
                .await,
            200
        );
    }
    a.set_plan("acme", "pro");
    for reg in [&on_b, &on_a] {
        hidden(
            reg,
            "/v2/acme/secret/manifests/1.0",
            "/v2/acme/no-such-repo/manifests/1.0",
        )
        .await;
    }

    // A token revoked through A: refused on both (each had it cached).
    let customer_api = a.api(&token);
    let (s, made) = customer_api
        .send(Method::POST, "/api/v1/tokens", Some(json!({"label": "ci"})))
        .await;
    assert_eq!(s, 201, "{made}");
    let second = made["secret"].as_str().unwrap().to_owned();
    let second_a = Reg::new(&a.base, CUSTOMER, &second);
    let second_b = Reg::new(&b.base, CUSTOMER, &second);
    for reg in [&second_a, &second_b] {
        assert_eq!(reg.status(Method::GET, "/v2/").await, 200);
    }
    customer_api.delete_token(&made["token"]["id"]).await;
    for reg in [&second_b, &second_a] {
        assert_eq!(reg.status(Method::GET, "/v2/").await, 401);
    }
    // The first token still works, on both.
    for reg in [&on_a, &on_b] {
        assert_eq!(reg.status(Method::GET, "/v2/").await, 200);
    }

    // Both LISTEN connections lost (ended by the database): the poll still
    // brings each server the next change, and the listeners come back.
    let db = sqlx::PgPool::connect(a.database_url.as_deref().unwrap())
        .await
        .unwrap();
    let listeners = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let until_two_listen = || async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while listeners().await != 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the servers did not LISTEN again"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    until_two_listen().await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .execute(&db)
    .await
    .unwrap();
    a.set_plan("acme", "community");
    for reg in [&on_b, &on_a] {
        assert_eq!(
            reg.status(Method::GET, "/v2/acme/secret/manifests/1.0")
                .await,
            200
        );
    }
    until_two_listen().await;
}

fn skopeo_inspect(creds: &str, image: &str) -> Value {
    let out = run(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        "--creds",
        creds,
        image,
    ]));
    serde_json::from_str(&out).unwrap()
}

/// The data of the next event of a `/events` stream (skipping the stream's
/// hello and keep-alive comments).
async fn next_event(stream: &mut reqwest::Response) -> Value {
    let mut buf = String::new();
    loop {
        while let Some(i) = buf.find("\n\n") {
            let block: String = buf.drain(..i + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(data).unwrap();
            }
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), stream.chunk())
            .await
            .expect("no event within 20 s")
            .unwrap()
            .expect("the stream ended");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}
