//! The OCI distribution API on a real server: push and pull over HTTP, bad
//! input, authentication and authorization, concurrency and interruptions.

mod common;

use common::registry::{error_code, raw_request, sha256, Reg, OCI_MANIFEST};
use common::{Answer, TestApp};
use domain::store::Store;
use reqwest::Method;
use serde_json::json;

const ADMIN: &str = "a@acme.test";

fn app_with_admin() -> (TestApp, Reg) {
    let app = TestApp::spawn();
    let reg = app.vendor("acme", ADMIN, "admin password");
    (app, reg)
}

#[tokio::test]
async fn base_endpoint_challenges_and_accepts_tokens() {
    let (app, reg) = app_with_admin();
    let anon = Reg::anonymous(&app.base);
    let r = anon.send(Method::GET, "/v2/").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Basic realm=\"Portcullis\""
    );
    assert_eq!(
        r.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    assert_eq!(error_code(r).await, (401, "UNAUTHORIZED".into()));
    let r = reg.send(Method::GET, "/v2/").await;
    assert_eq!(r.status(), 200);
    // The email is matched case-insensitively; a wrong email fails.
    let token = reg.token();
    assert_eq!(
        Reg::new(&app.base, "A@ACME.test", token)
            .req(Method::GET, "/v2/")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        Reg::new(&app.base, "b@acme.test", token)
            .req(Method::GET, "/v2/")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Bearer works too.
    let r = reqwest::Client::new()
        .get(app.url("/v2/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn push_pull_blobs_manifests_tags_catalog() {
    let (_app, reg) = app_with_admin();
    let repo = "acme/charts/web";
    let layer1 = vec![7u8; 300_000];
    let layer2 = b"second layer".to_vec();
    let (digest, manifest) = reg.push_image(repo, "1.0.0", &[&layer1, &layer2]).await;

    // Manifest by tag and by digest, GET and HEAD.
    for reference in ["1.0.0", digest.as_str()] {
        let r = reg
            .send(Method::GET, &format!("/v2/{repo}/manifests/{reference}"))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        assert_eq!(r.bytes().await.unwrap().to_vec(), manifest);
        let h = reg
            .send(Method::HEAD, &format!("/v2/{repo}/manifests/{reference}"))
            .await;
        assert_eq!(h.status(), 200);
        assert_eq!(
            h.headers()["content-length"],
            manifest.len().to_string().as_str()
        );
    }

    // Blob GET whole, HEAD, and ranges.
    let d1 = sha256(&layer1);
    let r = reg
        .send(Method::GET, &format!("/v2/{repo}/blobs/{d1}"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["docker-content-digest"], d1.as_str());
    assert_eq!(r.bytes().await.unwrap().len(), layer1.len());
    let r = reg
        .req(
            Method::GET,
            &format!("/v2/{repo}/blobs/{}", sha256(&layer2)),
        )
        .header("Range", "bytes=7-11")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 7-11/{}", layer2.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"layer");
    let r = reg
        .req(Method::GET, &format!("/v2/{repo}/blobs/{d1}"))
        .header("Range", "bytes=999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);

    // Tags: pagination with n/last and a Link header.
    for t in ["1.1.0", "2.0.0", "latest"] {
        reg.put_oci_manifest(repo, t, &manifest).await;
    }
    let r = reg
        .send(Method::GET, &format!("/v2/{repo}/tags/list?n=2"))
        .await;
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(
        link,
        format!("</v2/{repo}/tags/list?n=2&last=1.1.0>; rel=\"next\"")
    );
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"name": repo, "tags": ["1.0.0", "1.1.0"]})
    );
    let r = reg
        .send(Method::GET, &format!("/v2/{repo}/tags/list?n=2&last=1.1.0"))
        .await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["tags"],
        json!(["2.0.0", "latest"])
    );
    let r = reg
        .send(
            Method::GET,
            &format!("/v2/{repo}/tags/list?n=2&last=latest"),
        )
        .await;
    assert!(r.headers().get("link").is_none());
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["tags"],
        json!([])
    );

    // A re-pushed tag serves its new content on the next request (the
    // manifest cache is evicted on every write).
    let first = reg
        .send(Method::GET, &format!("/v2/{repo}/manifests/latest"))
        .await;
    assert_eq!(first.headers()["docker-content-digest"], digest.as_str());
    let (moved, _) = reg.push_image(repo, "latest", &[b"new content"]).await;
    let again = reg
        .send(Method::GET, &format!("/v2/{repo}/manifests/latest"))
        .await;
    assert_eq!(
        again.headers()["docker-content-digest"],
        moved.as_str(),
        "old digest was {digest}"
    );
    assert_ne!(moved, digest);

    // Catalog lists repositories with a manifest.
    reg.push_blob("acme/blob-only", b"no manifest yet").await;
    let r = reg.send(Method::GET, "/v2/_catalog").await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"repositories": [repo]})
    );

    // Delete a tag, then the manifest: gone for everyone.
    assert_eq!(
        reg.status(Method::DELETE, &format!("/v2/{repo}/manifests/latest"))
            .await,
        202
    );
    assert_eq!(
        reg.error_code(Method::GET, &format!("/v2/{repo}/manifests/latest"))
            .await,
        (404, "MANIFEST_UNKNOWN".into())
    );
    assert_eq!(
        reg.status(Method::DELETE, &format!("/v2/{repo}/manifests/{digest}"))
            .await,
        202
    );
    assert_eq!(
        reg.error_code(Method::GET, &format!("/v2/{repo}/manifests/1.0.0"))
            .await,
        (404, "MANIFEST_UNKNOWN".into())
    );
    // Blob delete unlinks it from the repository.
    assert_eq!(
        reg.status(Method::DELETE, &format!("/v2/{repo}/blobs/{d1}"))
            .await,
        202
    );
    assert_eq!(
        reg.error_code(Method::GET, &format!("/v2/{repo}/blobs/{d1}"))
            .await,
        (404, "BLOB_UNKNOWN".into())
    );
}

#[tokio::test]
async fn chunked_upload_checks_order_and_digest() {
    let (_app, reg) = app_with_admin();
    let repo = "acme/web";
    let r = reg
        .send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .await;
    assert_eq!(r.status(), 202);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(r.headers().contains_key("docker-upload-uuid"));
    let data: Vec<u8> = (0..250_000u32).map(|i| (i % 251) as u8).collect();
    let (a, b) = data.split_at(100_000);

    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Range", format!("0-{}", a.len() - 1))
        .body(a.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], "0-99999");
    // Out of order: 416 with the current range; nothing changes.
    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Range", "5-10")
        .body(vec![0u8; 6])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["range"], "0-99999");
    let r = reg.send(Method::GET, &loc).await;
    assert_eq!(
        (r.status().as_u16(), r.headers()["range"].to_str().unwrap()),
        (204, "0-99999")
    );

    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Range", format!("100000-{}", data.len() - 1))
        .body(b.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let digest = sha256(&data);
    let r = reg
        .send(Method::PUT, &format!("{loc}?digest={digest}"))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    let got = reg
        .send(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), data.as_slice());

    // A mismatched digest on close is refused and leaves nothing.
    let r = reg
        .send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .await;
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    reg.req(Method::PATCH, &loc)
        .body(b"abc".to_vec())
        .send()
        .await
        .unwrap();
    let wrong = sha256(b"abd");
    assert_eq!(
        reg.error_code(Method::PUT, &format!("{loc}?digest={wrong}"))
            .await,
        (400, "DIGEST_INVALID".into())
    );
    let r = reg
        .send(Method::HEAD, &format!("/v2/{repo}/blobs/{wrong}"))
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        reg.error_code(Method::GET, &loc).await,
        (404, "BLOB_UPLOAD_UNKNOWN".into())
    );

    // Cancel.
    let r = reg
        .send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .await;
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(reg.status(Method::DELETE, &loc).await, 204);
    assert_eq!(reg.status(Method::GET, &loc).await, 404);

    // sha512 digests are verified too.
    let d512 = format!(
        "sha512:{}",
        hex::encode(<sha2::Sha512 as sha2::Digest>::digest(b"hello"))
    );
    let r = reg
        .req(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={d512}"),
        )
        .body(b"hello".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let got = reg
        .send(Method::GET, &format!("/v2/{repo}/blobs/{d512}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), b"hello");
}

#[tokio::test]
async fn cross_repository_mount_needs_read_access() {
    let (app, reg) = app_with_admin();
    let d = reg.push_blob("acme/source", b"shared layer").await;
    let r = reg
        .send(
            Method::POST,
            &format!("/v2/acme/target/blobs/uploads/?mount={d}&from=acme/source"),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        reg.status(Method::HEAD, &format!("/v2/acme/target/blobs/{d}"))
            .await,
        200
    );

    // Another org cannot mount from acme: it gets an upload session instead.
    app.create_org("beta", "b@beta.test", "beta password");
    let beta = app.reg("b@beta.test");
    let r = beta
        .send(
            Method::POST,
            &format!("/v2/beta/stolen/blobs/uploads/?mount={d}&from=acme/source"),
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(
        beta.status(Method::HEAD, &format!("/v2/beta/stolen/blobs/{d}"))
            .await,
        404
    );
}

#[tokio::test]
async fn referrers_and_subject() {
    let (_app, reg) = app_with_admin();
    let repo = "acme/web";
    let (subject, manifest) = reg.push_image(repo, "1.0", &[b"layer"]).await;
    let empty = reg.push_blob(repo, b"{}").await;
    let sig = |artifact_type: &str, text: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": manifest.len()},
            "annotations": {"note": text},
        }))
        .unwrap()
    };
    let sbom = sig("application/vnd.example.sbom", "sbom");
    let signature = sig("application/vnd.example.signature", "sig");
    for body in [&sbom, &signature] {
        let d = sha256(body);
        let r = reg
            .send_manifest(repo, &d, OCI_MANIFEST, body.clone())
            .await;
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["oci-subject"], subject.as_str());
    }
    let r = reg
        .send(Method::GET, &format!("/v2/{repo}/referrers/{subject}"))
        .await;
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.oci.image.index.v1+json"
    );
    let index: serde_json::Value = r.json().await.unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    let r = reg
        .send(
            Method::GET,
            &format!("/v2/{repo}/referrers/{subject}?artifactType=application/vnd.example.sbom"),
        )
        .await;
    assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
    let index: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        index["manifests"],
        json!([{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(&sbom),
            "size": sbom.len(),
            "artifactType": "application/vnd.example.sbom",
            "annotations": {"note": "sbom"},
        }])
    );
    // No referrers: an empty index, not 404.
    let r = reg
        .send(
            Method::GET,
            &format!("/v2/{repo}/referrers/{}", sha256(b"nothing")),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["manifests"],
        json!([])
    );
}

#[tokio::test]
async fn bad_input_gets_the_spec_error_codes_never_a_500() {
    let (_app, reg) = app_with_admin();
    let repo = "acme/web";
    reg.push_image(repo, "1.0", &[b"layer"]).await;
    let good = sha256(b"x");
    let unknown_upload = uuid_like();
    let too_big = vec![b' '; 4 * 1024 * 1024 + 1];
    let missing_blob_manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(b"absent"), "size": 6},
        "layers": []
    }))
    .unwrap();
    let cases: Vec<(Method, String, Vec<u8>, u16, &str)> = vec![
        (
            Method::GET,
            "/v2/Acme/web/tags/list".into(),
            vec![],
            400,
            "NAME_INVALID",
        ),
        (
            Method::GET,
            "/v2/web/tags/list".into(),
            vec![],
            400,
            "NAME_INVALID",
        ),
        (
            Method::GET,
            "/v2/acme/we__b_/tags/list".into(),
            vec![],
            400,
            "NAME_INVALID",
        ),
        // (reqwest resolves dot segments: this arrives as /v2/etc/passwd/...)
        (
            Method::GET,
            "/v2/acme/../etc/passwd/manifests/x".into(),
            vec![],
            404,
            "NAME_UNKNOWN",
        ),
        (
            Method::GET,
            "/v2/acme/web/manifests/.bad".into(),
            vec![],
            400,
            "TAG_INVALID",
        ),
        (
            Method::PUT,
            format!("/v2/acme/web/manifests/{}", "t".repeat(129)),
            vec![],
            400,
            "TAG_INVALID",
        ),
        (
            Method::GET,
            "/v2/acme/web/manifests/sha256:1234".into(),
            vec![],
            400,
            "DIGEST_INVALID",
        ),
        (
            Method::GET,
            "/v2/acme/web/blobs/md5:abc".into(),
            vec![],
            400,
            "DIGEST_INVALID",
        ),
        (
            Method::GET,
            format!(
                "/v2/acme/web/blobs/{}",
                good.to_uppercase().replace("SHA256", "sha256")
            ),
            vec![],
            400,
            "DIGEST_INVALID",
        ),
        (
            Method::POST,
            "/v2/acme/web/blobs/uploads/?digest=sha256:zz".into(),
            b"x".to_vec(),
            400,
            "DIGEST_INVALID",
        ),
        (
            Method::POST,
            format!("/v2/acme/web/blobs/uploads/?digest={}", sha256(b"other")),
            b"x".to_vec(),
            400,
            "DIGEST_INVALID",
        ),
        (
            Method::GET,
            format!("/v2/acme/web/blobs/{good}"),
            vec![],
            404,
            "BLOB_UNKNOWN",
        ),
        (
            Method::GET,
            "/v2/acme/web/manifests/9.9".into(),
            vec![],
            404,
            "MANIFEST_UNKNOWN",
        ),
        (
            Method::GET,
            "/v2/acme/nothing/manifests/1.0".into(),
            vec![],
            404,
            "NAME_UNKNOWN",
        ),
        (
            Method::GET,
            "/v2/nosuchorg/web/tags/list".into(),
            vec![],
            404,
            "NAME_UNKNOWN",
        ),
        (
            Method::GET,
            format!("/v2/acme/web/blobs/uploads/{unknown_upload}"),
            vec![],
            404,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        (
            Method::PATCH,
            "/v2/acme/web/blobs/uploads/not-a-uuid".into(),
            b"x".to_vec(),
            404,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        (
            Method::PUT,
            "/v2/acme/web/manifests/big".into(),
            too_big,
            413,
            "SIZE_INVALID",
        ),
        (
            Method::PUT,
            "/v2/acme/web/manifests/bad".into(),
            b"{not json".to_vec(),
            400,
            "MANIFEST_INVALID",
        ),
        (
            Method::PUT,
            "/v2/acme/web/manifests/bad".into(),
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#
                .to_vec(),
            400,
            "MANIFEST_INVALID",
        ),
        (
            Method::PUT,
            "/v2/acme/web/manifests/missing".into(),
            missing_blob_manifest.clone(),
            400,
            "MANIFEST_BLOB_UNKNOWN",
        ),
        (
            Method::PUT,
            format!("/v2/acme/web/manifests/{}", sha256(b"different")),
            missing_blob_manifest,
            400,
            "DIGEST_INVALID",
        ),
        (
            Method::GET,
            "/v2/acme/web/tags/list?n=-1".into(),
            vec![],
            400,
            "UNSUPPORTED",
        ),
        (
            Method::POST,
            "/v2/acme/web/manifests/1.0".into(),
            vec![],
            405,
            "UNSUPPORTED",
        ),
        (
            Method::GET,
            "/v2/acme/web/unknown-endpoint".into(),
            vec![],
            404,
            "NAME_UNKNOWN",
        ),
    ];
    // Path traversal sent verbatim.
    for (method, path, status, code) in [
        (
            "GET",
            "/v2/acme/../etc/passwd/manifests/x",
            400,
            "NAME_INVALID",
        ),
        (
            "GET",
            "/v2/acme/web/../../blobs/sha256:00",
            400,
            "NAME_INVALID",
        ),
        ("GET", "/v2/acme/%2e%2e/manifests/x", 400, "NAME_INVALID"),
        (
            "PUT",
            "/v2/acme/web/blobs/uploads/../../../../tmp/x",
            404,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        (
            "GET",
            "/v2/acme/web/blobs/sha256:../../../../etc/passwd",
            400,
            "DIGEST_INVALID",
        ),
    ] {
        let (got_status, body) = raw_request(&reg, method, path).await;
        assert_eq!(got_status, status, "{method} {path}: {body}");
        assert!(body.contains(code), "{method} {path}: {body}");
    }
    for (method, path, body, status, code) in cases {
        let mut r = reg.req(method.clone(), &path).body(body);
        if method == Method::PUT && path.contains("/manifests/") {
            r = r.header("Content-Type", OCI_MANIFEST);
        }
        let resp = r.send().await.unwrap();
        let got = error_code(resp).await;
        assert_eq!(got, (status, code.to_owned()), "{method} {path}");
    }
}

fn uuid_like() -> String {
    "0b7d1d7e-2f5a-4c55-9b1c-3a7c1c2b9e11".into()
}

#[tokio::test]
async fn tokens_roles_and_orgs_are_enforced() {
    let (app, admin) = app_with_admin();
    admin.push_image("acme/web", "1.0", &[b"layer"]).await;

    // Wrong and expired tokens get 401.
    let wrong = Reg::new(&app.base, ADMIN, "pcl_0000");
    assert_eq!(
        wrong
            .error_code(Method::GET, "/v2/acme/web/tags/list")
            .await,
        (401, "UNAUTHORIZED".into())
    );
    let store = app.store().await;
    let uid = domain::store::RegistryStore::user_id_by_email(&store, ADMIN)
        .await
        .unwrap()
        .unwrap();
    let (secret, hash) = domain::token_cache::new_token();
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    domain::store::RegistryStore::create_token(&store, uid, "expired", &hash, Some(past))
        .await
        .unwrap();
    let r = Reg::new(&app.base, ADMIN, &secret)
        .req(Method::GET, "/v2/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A revoked token fails on the very next request (revoked through the UI's function).
    let web = app.signed_in(ADMIN, "admin password").await;
    let created = app
        .call_ok(
            &web,
            "create_token",
            &[("label", "ci"), ("expires_in_days", "30")],
        )
        .await;
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let id = created.body["token"]["id"].to_string();
    let ci = Reg::new(&app.base, ADMIN, &secret);
    assert_eq!(ci.status(Method::GET, "/v2/acme/web/tags/list").await, 200);
    let listed = app.call(&web, "list_tokens", &[]).await;
    assert!(listed.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["label"] == "ci"));
    assert!(
        !listed.body.to_string().contains(&secret),
        "the list never shows secrets"
    );
    app.call_ok(&web, "revoke_token", &[("token_id", id.as_str())])
        .await;
    assert_eq!(ci.status(Method::GET, "/v2/acme/web/tags/list").await, 401);

    // read_only pulls but cannot push or delete.
    assert_eq!(
        app.add_vendor_user(&web, "ro@acme.test", "read only pw", "read_only")
            .await
            .status,
        200
    );
    let ro = app.reg("ro@acme.test");
    assert_eq!(
        ro.status(Method::GET, "/v2/acme/web/manifests/1.0").await,
        200
    );
    assert_eq!(
        ro.error_code(Method::POST, "/v2/acme/web/blobs/uploads/")
            .await,
        (403, "DENIED".into())
    );
    assert_eq!(
        ro.error_code(Method::DELETE, "/v2/acme/web/manifests/1.0")
            .await,
        (403, "DENIED".into())
    );

    // A role change takes effect on the next request (the token cache is evicted).
    let users = app.call(&web, "load_settings", &[]).await.body["users"].clone();
    let ro_id = common::user_id(&users, "ro@acme.test").to_string();
    assert_eq!(
        app.change_vendor_role(&web, ro_id.as_str(), "read_write")
            .await
            .status,
        200
    );
    assert_eq!(
        ro.status(Method::POST, "/v2/acme/web/blobs/uploads/").await,
        202
    );
    // Removing the user ends its tokens at once.
    assert_eq!(
        app.remove_vendor_user(&web, ro_id.as_str()).await.status,
        200
    );
    assert_eq!(ro.status(Method::GET, "/v2/").await, 401);

    // Org B cannot see or touch org A's repositories: answered as non-existent.
    app.create_org("beta", "b@beta.test", "beta password");
    let beta = app.reg("b@beta.test");
    for (method, path) in [
        (Method::GET, "/v2/acme/web/manifests/1.0"),
        (Method::GET, "/v2/acme/web/tags/list"),
        (Method::POST, "/v2/acme/web/blobs/uploads/"),
        (Method::DELETE, "/v2/acme/web/manifests/1.0"),
    ] {
        assert_eq!(
            beta.error_code(method.clone(), path).await,
            (404, "NAME_UNKNOWN".into()),
            "{method} {path}"
        );
    }
    let r = beta.send(Method::GET, "/v2/_catalog").await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"repositories": []})
    );

    // Customer users cannot push; with no entitlement in the org (SPEC §3
    // rule 1) they pull everything.
    let org = store
        .org_by_slug(&domain::OrgSlug::parse("acme").unwrap())
        .await
        .unwrap();
    let customer = domain::store::Store::create_customer(
        &store,
        org.id,
        domain::DisplayName::parse("Globex").unwrap(),
        &domain::audit::Actor::operator(),
    )
    .await
    .unwrap();
    domain::store::Store::create_customer_user(
        &store,
        org.id,
        customer.id,
        domain::Email::parse("c@globex.test").unwrap(),
        "x".into(),
        domain::CustomerRole::Member,
        &domain::audit::Actor::operator(),
    )
    .await
    .unwrap();
    let cust = app.reg("c@globex.test");
    assert_eq!(
        cust.error_code(Method::POST, "/v2/acme/web/blobs/uploads/")
            .await,
        (403, "DENIED".into())
    );
    let r = cust
        .req(Method::PUT, "/v2/acme/web/manifests/2.0")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (403, "DENIED".into()));
    let r = cust.send(Method::GET, "/v2/acme/web/manifests/1.0").await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn immutable_tags_refuse_a_repush() {
    let (app, reg) = app_with_admin();
    let (_, manifest) = reg.push_image("acme/web", "1.0", &[b"one"]).await;
    let store = app.store().await;
    let org = store
        .org_by_slug(&domain::OrgSlug::parse("acme").unwrap())
        .await
        .unwrap();
    domain::store::RegistryStore::set_immutable_tags(&store, org.id, true)
        .await
        .unwrap();
    // Re-pushing the same content is fine; moving the tag is not.
    reg.put_oci_manifest("acme/web", "1.0", &manifest).await;
    let (other, _) = reg.push_image("acme/web", "2.0", &[b"two"]).await;
    let other_manifest = reg
        .send(Method::GET, &format!("/v2/acme/web/manifests/{other}"))
        .await
        .bytes()
        .await
        .unwrap();
    let r = reg
        .send_manifest("acme/web", "1.0", OCI_MANIFEST, other_manifest.to_vec())
        .await;
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 409);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("immutable"));
}

#[tokio::test]
async fn concurrent_pushes_of_the_same_content_all_succeed() {
    let (_app, reg) = app_with_admin();
    let layer = vec![42u8; 200_000];
    let mut tasks = vec![];
    for _ in 0..8 {
        let reg = reg.clone();
        let layer = layer.clone();
        tasks.push(tokio::spawn(async move {
            reg.push_image("acme/web", "1.0", &[&layer]).await.0
        }));
    }
    let mut digests = vec![];
    for t in tasks {
        digests.push(t.await.unwrap());
    }
    digests.dedup();
    assert_eq!(digests.len(), 1);
    let r = reg
        .send(
            Method::GET,
            &format!("/v2/acme/web/blobs/{}", sha256(&layer)),
        )
        .await;
    assert_eq!(r.bytes().await.unwrap().len(), layer.len());
}

#[tokio::test]
async fn an_upload_cut_off_mid_stream_leaves_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (app, reg) = app_with_admin();
    let r = reg.send(Method::POST, "/v2/acme/web/blobs/uploads/").await;
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let data = vec![1u8; 100_000];
    let digest = sha256(&data);
    let (email, token) = reg.auth.clone().unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{email}:{token}"),
    );
    let addr = app.host();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT {loc}?digest={digest} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\n\r\n",
        data.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&data[..40_000]).await.unwrap();
    sock.flush().await.unwrap();
    sock.shutdown().await.unwrap();
    // Wait for the server to finish with the connection (it answers or closes).
    let mut sink = Vec::new();
    let _ = sock.read_to_end(&mut sink).await;
    drop(sock);
    let r = reg
        .send(Method::HEAD, &format!("/v2/acme/web/blobs/{digest}"))
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        reg.error_code(Method::GET, &loc).await,
        (404, "BLOB_UPLOAD_UNKNOWN".into())
    );
    assert!(!app
        .data_dir()
        .join("blobs/sha256")
        .join(&digest[7..9])
        .join(&digest[7..])
        .exists());
}

#[tokio::test]
async fn an_upload_survives_a_server_killed_in_the_middle() {
    let (app, reg) = app_with_admin();
    reg.push_image("acme/web", "1.0", &[b"kept"]).await;
    let r = reg.send(Method::POST, "/v2/acme/web/blobs/uploads/").await;
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let (first, second) = (vec![9u8; 50_000], vec![7u8; 30_000]);
    assert_eq!(
        reg.req(Method::PATCH, &loc)
            .body(first.clone())
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    let dir = app.kill();
    let app = TestApp::spawn_in(dir, &[]);
    let reg = reg.on(&app.base);
    // The session is in the database: the restarted server knows it.
    let r = reg.send(Method::GET, &loc).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], "0-49999");
    let whole = [first, second.clone()].concat();
    let digest = sha256(&whole);
    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Range", "50000-79999")
        .body(second)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // This process never saw the first chunk: it verifies by reading the
    // stored chunks back (a wrong digest is refused).
    let wrong = sha256(b"not it");
    assert_eq!(
        reg.error_code(Method::PUT, &format!("{loc}?digest={wrong}"))
            .await,
        (400, "DIGEST_INVALID".into())
    );
    // A refused close voids the upload, as before.
    assert_eq!(
        reg.error_code(Method::GET, &loc).await,
        (404, "BLOB_UPLOAD_UNKNOWN".into())
    );
    // Again, closed with the right digest this time.
    let r = reg.send(Method::POST, "/v2/acme/web/blobs/uploads/").await;
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let half = whole.len() / 2;
    assert_eq!(
        reg.req(Method::PATCH, &loc)
            .body(whole[..half].to_vec())
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    let dir = app.kill();
    let app = TestApp::spawn_in(dir, &[]);
    let reg = reg.on(&app.base);
    assert_eq!(reg.close_upload(&loc, &digest, &whole[half..]).await, 201);
    assert_eq!(reg.blob("acme/web", &digest).await, whole);
    assert_eq!(
        reg.status(Method::GET, "/v2/acme/web/manifests/1.0").await,
        200
    );
    // Nothing of the uploads is left behind.
    let left: Vec<_> = std::fs::read_dir(app.data_dir().join("_uploads"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn cli_create_token_validates_and_prints_only_the_token() {
    let (app, _) = app_with_admin();
    let t = app.token(ADMIN, &["--expires-in", "30d"]);
    assert!(t.starts_with("pcl_") && t.len() >= 36);
    for (args, needle) in [
        (
            vec![
                "admin",
                "create-token",
                "--email",
                "nobody@acme.test",
                "--label",
                "x",
            ],
            "no user",
        ),
        (
            vec![
                "admin",
                "create-token",
                "--email",
                ADMIN,
                "--label",
                "x",
                "--expires-in",
                "soon",
            ],
            "lifetime",
        ),
        (
            vec!["admin", "create-token", "--email", "bad", "--label", "x"],
            "--email",
        ),
    ] {
        let out = app.cli(&args, "");
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{args:?}"
        );
    }
}

// ---- OCI conformance (distribution-spec 1.1 and its dev additions) ----

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

#[tokio::test]
async fn referrers_of_a_repository_that_does_not_exist_are_an_empty_index() {
    let (app, reg) = app_with_admin();
    app.create_org("beta", "b@beta.test", "beta password");
    let beta = app.reg("b@beta.test");
    beta.push_image("beta/web", "1.0", &[b"beta layer"]).await;
    let subject = sha256(b"some subject");
    // A repository never pushed to, another org's repository (invisible:
    // answered the same) and an org that does not exist.
    for repo in ["acme/never-pushed", "beta/web", "nope/web"] {
        for query in ["", "?artifactType=application/vnd.example.sbom"] {
            let r = reg
                .send(
                    Method::GET,
                    &format!("/v2/{repo}/referrers/{subject}{query}"),
                )
                .await;
            assert_eq!(r.status(), 200, "{repo}{query}");
            assert_eq!(r.headers()["content-type"], OCI_INDEX);
            if !query.is_empty() {
                assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
            }
            assert_eq!(
                r.json::<serde_json::Value>().await.unwrap(),
                json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}),
                "{repo}{query}"
            );
        }
    }
    // A bad digest is still a 400.
    assert_eq!(
        reg.error_code(Method::GET, "/v2/acme/never-pushed/referrers/sha256:nope")
            .await,
        (400, "DIGEST_INVALID".into())
    );
}

#[tokio::test]
async fn a_referrer_without_artifact_type_is_listed_and_filtered_by_its_config_type() {
    let (app, reg) = app_with_admin();
    let repo = "acme/web";
    let (subject, manifest) = reg.push_image(repo, "1.0", &[b"layer"]).await;
    // A referrer that is itself an image (config: an image config), and one
    // whose config is an artifact's: neither has `artifactType`.
    let mut referrers = vec![];
    for (config_type, config) in [
        (
            "application/vnd.oci.image.config.v1+json",
            &br#"{"os":"linux"}"#[..],
        ),
        (
            "application/vnd.example.sbom.config.v1+json",
            &b"{\"sbom\":1}"[..],
        ),
    ] {
        let config_digest = reg.push_blob(repo, config).await;
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": manifest.len()},
        }))
        .unwrap();
        let d = reg.put_oci_manifest(repo, &sha256(&body), &body).await;
        referrers.push((config_type, d, body.len()));
    }
    let check = |reg: Reg, subject: String, referrers: Vec<(&'static str, String, usize)>| async move {
        let all: serde_json::Value = reg
            .send(Method::GET, &format!("/v2/{repo}/referrers/{subject}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(all["manifests"].as_array().unwrap().len(), 2, "{all}");
        for (config_type, digest, size) in &referrers {
            let r = reg
                .send(
                    Method::GET,
                    &format!(
                        "/v2/{repo}/referrers/{subject}?artifactType={}",
                        config_type.replace('+', "%2B")
                    ),
                )
                .await;
            assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
            let index: serde_json::Value = r.json().await.unwrap();
            assert_eq!(
                index["manifests"],
                json!([{"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "artifactType": config_type}]),
                "filter {config_type}"
            );
        }
    };
    check(reg.clone(), subject.clone(), referrers.clone()).await;
    // Manifests stored before this rule (no artifact type recorded) answer
    // the same.
    let store = app.store().await;
    sqlx::query("UPDATE manifests SET artifact_type = NULL")
        .execute(store.pool())
        .await
        .unwrap();
    check(reg, subject, referrers).await;
}

#[tokio::test]
async fn out_of_order_chunks_get_416_on_patch_and_on_the_closing_put() {
    let (_app, reg) = app_with_admin();
    let repo = "acme/web";
    let data: Vec<u8> = (0..30_000u32).map(|i| (i % 253) as u8).collect();
    let digest = sha256(&data);
    let (a, rest) = data.split_at(10_000);
    let (b, c) = rest.split_at(10_000);
    let start = || async {
        let r = reg
            .req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .header("Content-Length", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        r.headers()["location"].to_str().unwrap().to_owned()
    };

    // As the conformance suite: a first chunk that does not start at 0.
    let loc = start().await;
    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", "10000-19999")
        .body(b.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["location"], loc.as_str());
    assert_eq!(r.headers()["range"], "0-0");
    assert_eq!(error_code(r).await, (416, "BLOB_UPLOAD_INVALID".into()));

    // A malformed Content-Range is a 416 too (spec), and changes nothing.
    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Range", "bytes=0-")
        .body(a.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);

    // In order: accepted.
    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Range", "0-9999")
        .body(a.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], "0-9999");
    let loc = r.headers()["location"].to_str().unwrap().to_owned();

    // The closing PUT with an out-of-order last chunk (skipping b): 416,
    // with where to resume; the session survives.
    let r = reg
        .req(Method::PUT, &format!("{loc}?digest={digest}"))
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", "20000-29999")
        .body(c.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["location"], loc.as_str());
    assert_eq!(r.headers()["range"], "0-9999");
    let Answer { status, body, .. } = Answer::read(r).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (416, Some("BLOB_UPLOAD_INVALID"))
    );
    // A retried chunk (starting at 0 again) is out of order as well.
    let r = reg
        .req(Method::PUT, &format!("{loc}?digest={digest}"))
        .header("Content-Range", "0-9999")
        .body(a.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    let r = reg.send(Method::GET, &loc).await;
    assert_eq!(
        (r.status().as_u16(), r.headers()["range"].to_str().unwrap()),
        (204, "0-9999")
    );
    // Resuming in order completes the blob.
    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Range", "10000-19999")
        .body(b.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = reg
        .req(Method::PUT, &format!("{loc}?digest={digest}"))
        .header("Content-Range", "20000-29999")
        .body(c.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = reg
        .send(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
        .await;
    assert_eq!(r.bytes().await.unwrap().to_vec(), data);
}

#[tokio::test]
async fn a_cancelled_upload_is_gone() {
    let (_app, reg) = app_with_admin();
    let repo = "acme/web";
    let r = reg
        .send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .await;
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let r = reg
        .req(Method::PATCH, &loc)
        .header("Content-Range", "0-4")
        .body(b"hello".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = reg
        .req(Method::DELETE, &loc)
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let digest = sha256(b"hello");
    for (method, url) in [
        (Method::GET, loc.clone()),
        (Method::PATCH, loc.clone()),
        (Method::PUT, format!("{loc}?digest={digest}")),
        (Method::DELETE, loc.clone()),
    ] {
        assert_eq!(
            reg.error_code(method.clone(), &url).await,
            (404, "BLOB_UPLOAD_UNKNOWN".into()),
            "{method} after cancel"
        );
    }
    // Nothing of it became a blob.
    let r = reg
        .send(Method::HEAD, &format!("/v2/{repo}/blobs/{digest}"))
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn an_upload_without_a_chunk_lives_in_its_id_and_ends_once() {
    let (app, reg) = app_with_admin();
    reg.push_image("acme/web", "1.0", &[b"there"]).await;
    let start = |reg: &Reg| {
        let reg = reg.clone();
        async move {
            let r = reg.send(Method::POST, "/v2/acme/web/blobs/uploads/").await;
            assert_eq!(r.status(), 202);
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let unknown = (404, "BLOB_UPLOAD_UNKNOWN".to_owned());

    // Nothing stored, yet known (to this server after a restart too), for
    // its repository only, and not when altered.
    let loc = start(&reg).await;
    let dir = app.kill();
    let app = TestApp::spawn_in(dir, &[]);
    let reg = reg.on(&app.base);
    let r = reg.send(Method::GET, &loc).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], "0-0");
    let elsewhere = loc.replace("/acme/web/", "/acme/other/");
    assert_eq!(reg.error_code(Method::GET, &elsewhere).await, unknown);
    let body = b"the whole blob".to_vec();
    let digest = sha256(&body);
    assert_eq!(
        reg.close_upload(&elsewhere, &digest, &body).await,
        404,
        "the id is not acme/other's"
    );
    let mut altered = loc.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(reg.error_code(Method::GET, &altered).await, unknown);

    // Closed with the whole blob: once.
    assert_eq!(reg.close_upload(&loc, &digest, &body).await, 201);
    let got = reg
        .send(Method::GET, &format!("/v2/acme/web/blobs/{digest}"))
        .await;
    assert_eq!(got.bytes().await.unwrap().as_ref(), body.as_slice());
    assert_eq!(reg.close_upload(&loc, &digest, &body).await, 404);
    assert_eq!(reg.error_code(Method::GET, &loc).await, unknown);
    assert_eq!(reg.error_code(Method::PATCH, &loc).await, unknown);

    // A wrong digest ends it too, and nothing becomes visible.
    let loc = start(&reg).await;
    let wrong = sha256(b"something else");
    let refused = reg
        .req(Method::PUT, &format!("{loc}?digest={wrong}"))
        .body(b"not it".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(refused).await,
        (400, "DIGEST_INVALID".to_owned())
    );
    for d in [&wrong, &sha256(b"not it")] {
        let r = reg
            .send(Method::HEAD, &format!("/v2/acme/web/blobs/{d}"))
            .await;
        assert_eq!(r.status(), 404);
    }
    assert_eq!(reg.error_code(Method::GET, &loc).await, unknown);

    // Two closes at once with different blobs: one wins, and the other's
    // blob is not in the repository.
    let loc = start(&reg).await;
    let (one, two) = (b"first closer".to_vec(), b"second closer".to_vec());
    let (d1, d2) = (sha256(&one), sha256(&two));
    let (s1, s2) = tokio::join!(
        reg.close_upload(&loc, &d1, &one),
        reg.close_upload(&loc, &d2, &two)
    );
    let mut statuses = [s1, s2];
    statuses.sort();
    assert_eq!(statuses[0], 201, "{s1} {s2}");
    assert!(matches!(statuses[1], 404 | 416), "{s1} {s2}");
    for (d, won) in [(&d1, s1 == 201), (&d2, s2 == 201)] {
        let r = reg
            .send(Method::HEAD, &format!("/v2/acme/web/blobs/{d}"))
            .await;
        assert_eq!(r.status() == 200, won, "{d}");
    }

    // Cancelled before any chunk: gone.
    let loc = start(&reg).await;
    assert_eq!(reg.status(Method::DELETE, &loc).await, 204);
    assert_eq!(reg.error_code(Method::GET, &loc).await, unknown);
    assert_eq!(reg.close_upload(&loc, &digest, &body).await, 404);
}

#[tokio::test]
async fn a_push_by_digest_with_tag_parameters_sets_every_tag() {
    let (app, reg) = app_with_admin();
    let repo = "acme/web";
    let (_, manifest) = reg.push_image(repo, "base", &[b"tagged layer"]).await;
    let digest = sha256(&manifest);
    let r = reg
        .send_manifest(
            repo,
            &format!("{digest}?tag=a&tag=b&tag=a"),
            OCI_MANIFEST,
            manifest.clone(),
        )
        .await;
    assert_eq!(r.status(), 201);
    let oci_tags: Vec<&str> = r
        .headers()
        .get_all("oci-tag")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(oci_tags, ["a", "b"]);
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    for tag in ["a", "b"] {
        let r = reg
            .send(Method::GET, &format!("/v2/{repo}/manifests/{tag}"))
            .await;
        assert_eq!(r.status(), 200, "tag {tag}");
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    }
    let tags: serde_json::Value = reg
        .send(Method::GET, &format!("/v2/{repo}/tags/list"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!(["a", "b", "base"]));

    // A bad tag parameter is refused before anything is stored.
    let r = reg
        .send_manifest(
            repo,
            &format!("{digest}?tag=c&tag=-bad"),
            OCI_MANIFEST,
            manifest.clone(),
        )
        .await;
    assert_eq!(error_code(r).await, (400, "TAG_INVALID".into()));

    // With immutable tags, all or nothing: one tag that would move refuses
    // the whole push.
    let store = app.store().await;
    let org = store
        .org_by_slug(&domain::OrgSlug::parse("acme").unwrap())
        .await
        .unwrap();
    domain::store::RegistryStore::set_immutable_tags(&store, org.id, true)
        .await
        .unwrap();
    let (other, other_manifest) = reg.push_image(repo, "other", &[b"other layer"]).await;
    let r = reg
        .send_manifest(
            repo,
            &format!("{other}?tag=fresh&tag=a"),
            OCI_MANIFEST,
            other_manifest,
        )
        .await;
    assert_eq!(error_code(r).await, (409, "DENIED".into()));
    let r = reg
        .send(Method::GET, &format!("/v2/{repo}/manifests/fresh"))
        .await;
    assert_eq!(r.status(), 404);
    let r = reg
        .send(Method::HEAD, &format!("/v2/{repo}/manifests/a"))
        .await;
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
}

/// A manifest of `media_type` with a pushed config and regular layer, and
/// one non-distributable layer of each kind whose blob is not pushed.
async fn with_foreign_layers(reg: &Reg, repo: &str, media_type: &str) -> (Vec<u8>, Vec<String>) {
    let (config_type, layer_type) = if media_type == OCI_MANIFEST {
        (
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    } else {
        (
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    };
    let config = format!(r#"{{"os":"windows","architecture":"amd64","t":"{media_type}"}}"#);
    let config_digest = reg.push_blob(repo, config.as_bytes()).await;
    let local = format!("local layer {media_type}");
    let local_digest = reg.push_blob(repo, local.as_bytes()).await;
    let foreign_types: &[&str] = if media_type == OCI_MANIFEST {
        &[
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        ]
    } else {
        &["application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"]
    };
    let mut layers = vec![];
    let mut foreign = vec![];
    for (i, t) in foreign_types.iter().enumerate() {
        let d = sha256(format!("foreign {media_type} {i}").as_bytes());
        layers.push(json!({"mediaType": t, "digest": d, "size": 1000 + i,
            "urls": [format!("https://foreign.example/{i}")]}));
        foreign.push(d);
    }
    layers.push(json!({"mediaType": layer_type, "digest": local_digest, "size": local.len()}));
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
        "layers": layers,
    }))
    .unwrap();
    (body, foreign)
}

#[tokio::test]
async fn manifests_with_non_distributable_layers_are_accepted_without_their_blobs() {
    let (_app, reg) = app_with_admin();
    let repo = "acme/windows";
    for (tag, media_type) in [
        ("oci", OCI_MANIFEST),
        (
            "docker",
            "application/vnd.docker.distribution.manifest.v2+json",
        ),
    ] {
        let (body, foreign) = with_foreign_layers(&reg, repo, media_type).await;
        let digest = reg.put_manifest(repo, tag, media_type, &body).await;
        for reference in [tag, digest.as_str()] {
            let r = reg
                .send(Method::GET, &format!("/v2/{repo}/manifests/{reference}"))
                .await;
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], media_type);
            assert_eq!(r.bytes().await.unwrap().to_vec(), body);
            let r = reg
                .send(Method::HEAD, &format!("/v2/{repo}/manifests/{reference}"))
                .await;
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        }
        // The foreign blobs are not here: a clean 404, never a 500.
        for d in &foreign {
            assert_eq!(
                reg.error_code(Method::GET, &format!("/v2/{repo}/blobs/{d}"))
                    .await,
                (404, "BLOB_UNKNOWN".into())
            );
        }
        // By digest too, and with a second tag.
        reg.put_manifest(repo, &digest, media_type, &body).await;
    }
    let tags: serde_json::Value = reg
        .send(Method::GET, &format!("/v2/{repo}/tags/list"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!(["docker", "oci"]));

    // Every other descriptor is still checked: a missing regular layer is
    // refused.
    let (body, _) = with_foreign_layers(&reg, repo, OCI_MANIFEST).await;
    let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["layers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(b"not pushed"), "size": 10}));
    let r = reg
        .send_manifest(
            repo,
            "broken",
            OCI_MANIFEST,
            serde_json::to_vec(&v).unwrap(),
        )
        .await;
    assert_eq!(error_code(r).await, (400, "MANIFEST_BLOB_UNKNOWN".into()));
}

#[tokio::test]
async fn immutable_tags_cannot_be_deleted_nor_their_manifests() {
    let (app, reg) = app_with_admin();
    let repo = "acme/web";
    let (tagged, tagged_body) = reg.push_image(repo, "1.0", &[b"one"]).await;
    let (other, _) = reg.push_image(repo, "2.0", &[b"two"]).await;
    // An untagged manifest.
    let (loose, _) = reg.push_image(repo, "tmp", &[b"loose"]).await;
    let r = reg
        .send(Method::DELETE, &format!("/v2/{repo}/manifests/tmp"))
        .await;
    assert_eq!(
        r.status(),
        202,
        "tags can be deleted while tags are mutable"
    );

    let store = app.store().await;
    let org = store
        .org_by_slug(&domain::OrgSlug::parse("acme").unwrap())
        .await
        .unwrap();
    domain::store::RegistryStore::set_immutable_tags(&store, org.id, true)
        .await
        .unwrap();

    // Deleting the tag, or the manifest it points at, is disabled: 405
    // UNSUPPORTED with the reason (what the spec answers for a disabled
    // deletion).
    for reference in ["1.0", tagged.as_str()] {
        let r = reg
            .send(Method::DELETE, &format!("/v2/{repo}/manifests/{reference}"))
            .await;
        assert_eq!(r.status(), 405, "DELETE {reference}");
        assert_eq!(r.headers()["allow"], "GET, HEAD, PUT");
        let body = Answer::read(r).await.body;
        assert_eq!(body["errors"][0]["code"], "UNSUPPORTED");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("immutable"),
            "{body}"
        );
    }
    // So the tag cannot be moved by deleting it and pushing again.
    let other_body = reg
        .send(Method::GET, &format!("/v2/{repo}/manifests/{other}"))
        .await
        .bytes()
        .await
        .unwrap();
    let r = reg
        .send_manifest(repo, "1.0", OCI_MANIFEST, other_body.to_vec())
        .await;
    assert_eq!(r.status(), 409);
    let r = reg
        .send(Method::GET, &format!("/v2/{repo}/manifests/1.0"))
        .await;
    assert_eq!(r.headers()["docker-content-digest"], tagged.as_str());
    assert_eq!(r.bytes().await.unwrap().to_vec(), tagged_body);
    // An untagged manifest may still go; a missing one is still 404.
    let r = reg
        .send(Method::DELETE, &format!("/v2/{repo}/manifests/{loose}"))
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(
        reg.error_code(Method::DELETE, &format!("/v2/{repo}/manifests/{loose}"))
            .await,
        (404, "MANIFEST_UNKNOWN".into())
    );
}
