//! SPEC §3 on a real server: the enforcement matrix. Two vendor orgs,
//! customers with no entitlement, all tags, specific tags, two entitlements
//! and an expired one; every (customer, repository, tag | digest | blob)
//! allowed or denied exactly as the rules say, with what is invisible
//! answered byte for byte like what does not exist. Then the changes that
//! must take effect on the very next request, and real clients (skopeo,
//! podman, oci-client) as a customer.

mod common;

use common::clients::{push_umoci_image, skopeo_pull};
use common::registry::{sha256, Reg};
use common::{Api, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;

const ADMIN: &str = "a@acme.test";

/// A customer with one member user; (customer id, that user's registry client).
async fn customer(app: &TestApp, api: &Api, name: &str) -> (i64, Reg) {
    let email = format!("{}@customer.test", name.to_lowercase());
    let (id, _) = api.customer(name, &email, "customer password").await;
    (id, Reg::new(&app.base, &email, &app.token(&email, &[])))
}

async fn json_of(reg: &Reg, path: &str) -> Value {
    let (s, body) = reg.fetch(Method::GET, path).await;
    assert_eq!(s, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// `path` is allowed: 200.
async fn allowed(who: &str, reg: &Reg, path: &str) {
    let (s, body) = reg.fetch(Method::GET, path).await;
    assert_eq!(s, 200, "{who} GET {path} should be allowed: {body}");
}

/// `path` is denied exactly like `missing` (something that does not exist):
/// same 404, same OCI code `code`, same body.
async fn hidden(who: &str, reg: &Reg, path: &str, missing: &str, code: &str) {
    let denied = reg.fetch(Method::GET, path).await;
    let absent = reg.fetch(Method::GET, missing).await;
    assert_eq!(
        denied.0, 404,
        "{who} GET {path} should be hidden: {}",
        denied.1
    );
    assert_eq!(
        denied, absent,
        "{who} GET {path}: answered unlike {missing}"
    );
    let v: Value = serde_json::from_str(&denied.1).unwrap();
    assert_eq!(v["errors"][0]["code"], code, "{who} GET {path}");
}

/// An image manifest (config + layers, blobs pushed) that is not yet put.
async fn image(reg: &Reg, repo: &str, note: &str, layers: &[&[u8]]) -> Vec<u8> {
    let config =
        serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "note": note})).unwrap();
    let config_digest = reg.push_blob(repo, &config).await;
    let mut descs = vec![];
    for l in layers {
        let d = reg.push_blob(repo, l).await;
        descs.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": l.len()}));
    }
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descs,
    }))
    .unwrap()
}

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A signature-like referrer of `subject` in `repo`, put by digest.
async fn referrer(
    reg: &Reg,
    repo: &str,
    subject: &str,
    subject_size: usize,
    note: &[u8],
) -> String {
    let empty = reg.push_blob(repo, b"{}").await;
    let sig = reg.push_blob(repo, note).await;
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.example.signature", "digest": sig, "size": note.len()}],
        "subject": {"mediaType": MANIFEST, "digest": subject, "size": subject_size},
    }))
    .unwrap();
    reg.put_manifest(repo, &sha256(&body), MANIFEST, &body)
        .await
}

const NO_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn m(repo: &str, reference: &str) -> String {
    format!("/v2/acme/{repo}/manifests/{reference}")
}

fn b(repo: &str, digest: &str) -> String {
    format!("/v2/acme/{repo}/blobs/{digest}")
}

#[tokio::test]
async fn the_enforcement_matrix() {
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, "admin password");
    app.create_org("beta", "b@beta.test", "beta password");
    app.set_plan("acme", "pro");
    let vendor = app.reg(ADMIN);
    let api = app.api(&app.token(ADMIN, &[]));

    // Content. web: 1.0 first points at A1, then is re-pushed as an index I
    // of M1 and M2; 2.0 is B; SIG refers to I and SIG_B to B; U is untagged.
    // api: 1.0 is C, which shares a layer with B. secret: 1.0. beta/web: 1.0.
    let a1 = image(&vendor, "acme/web", "a1", &[b"a1-layer"]).await;
    let a1 = vendor.put_manifest("acme/web", "1.0", MANIFEST, &a1).await;
    let m1_body = image(&vendor, "acme/web", "m1", &[b"m1-layer"]).await;
    let m1 = vendor
        .put_manifest("acme/web", &sha256(&m1_body), MANIFEST, &m1_body)
        .await;
    let m2_body = image(&vendor, "acme/web", "m2", &[b"m2-layer"]).await;
    let m2 = vendor
        .put_manifest("acme/web", &sha256(&m2_body), MANIFEST, &m2_body)
        .await;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {"mediaType": MANIFEST, "digest": m1, "size": m1_body.len(), "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": MANIFEST, "digest": m2, "size": m2_body.len(), "platform": {"os": "linux", "architecture": "arm64"}},
        ],
    }))
    .unwrap();
    let i = vendor.put_manifest("acme/web", "1.0", INDEX, &index).await;
    let b_body = image(&vendor, "acme/web", "b", &[b"shared-layer", b"b-layer"]).await;
    let b_digest = vendor
        .put_manifest("acme/web", "2.0", MANIFEST, &b_body)
        .await;
    let sig = referrer(&vendor, "acme/web", &i, index.len(), b"sig of I").await;
    let sig_b = referrer(&vendor, "acme/web", &b_digest, b_body.len(), b"sig of B").await;
    let u_body = image(&vendor, "acme/web", "u", &[b"u-layer"]).await;
    let u = vendor
        .put_manifest("acme/web", &sha256(&u_body), MANIFEST, &u_body)
        .await;
    let c_body = image(&vendor, "acme/api", "c", &[b"shared-layer", b"c-layer"]).await;
    vendor
        .put_manifest("acme/api", "1.0", MANIFEST, &c_body)
        .await;
    let s_body = image(&vendor, "acme/secret", "s", &[b"s-layer"]).await;
    vendor
        .put_manifest("acme/secret", "1.0", MANIFEST, &s_body)
        .await;
    let beta = app.reg("b@beta.test");
    beta.push_image("beta/web", "1.0", &[b"beta-layer"]).await;
    let layer = |data: &[u8]| sha256(data);

    let (_, nobody) = customer(&app, &api, "Nobody").await;
    let (all_id, all) = customer(&app, &api, "AllWeb").await;
    let (spec_id, spec) = customer(&app, &api, "Spec").await;
    let (two_id, two) = customer(&app, &api, "Two").await;
    let (expired_id, expired) = customer(&app, &api, "Expired").await;

    // Rule 1: before the org's first entitlement, every customer sees all.
    allowed("nobody (rule 1)", &nobody, &m("secret", "1.0")).await;
    allowed("nobody (rule 1)", &nobody, &b("web", &layer(b"b-layer"))).await;
    assert_eq!(
        json_of(&nobody, "/v2/_catalog").await["repositories"],
        json!(["acme/api", "acme/secret", "acme/web"])
    );
    // ... but never another org's.
    hidden(
        "nobody",
        &nobody,
        "/v2/beta/web/manifests/1.0",
        "/v2/nope/web/manifests/1.0",
        "NAME_UNKNOWN",
    )
    .await;

    let all_ent = api
        .entitle(
            all_id,
            json!({"name": "all", "artifacts": [{"artifact": "web", "tags": "all"}]}),
        )
        .await;
    api.entitle(
        spec_id,
        json!({"name": "spec", "artifacts": [{"artifact": "web", "tags": ["1.0"]}]}),
    )
    .await;
    api.entitle(
        two_id,
        json!({"name": "web 2", "artifacts": [{"artifact": "web", "tags": ["2.0"]}]}),
    )
    .await;
    api.entitle(
        two_id,
        json!({"name": "api", "artifacts": [{"artifact": "api", "tags": "all"}]}),
    )
    .await;
    api.entitle(
        expired_id,
        json!({"name": "old", "expires_at": "2020-01-01T00:00:00Z", "artifacts": [{"artifact": "web", "tags": "all"}]}),
    )
    .await;

    // Rule 2: the first entitlement exists; a customer without one sees nothing.
    for (path, missing, code) in [
        (m("web", "1.0"), m("nope", "1.0"), "NAME_UNKNOWN"),
        (
            b("web", &layer(b"a1-layer")),
            b("nope", &layer(b"a1-layer")),
            "NAME_UNKNOWN",
        ),
        (
            "/v2/acme/web/tags/list".to_owned(),
            "/v2/acme/nope/tags/list".to_owned(),
            "NAME_UNKNOWN",
        ),
    ] {
        hidden("nobody", &nobody, &path, &missing, code).await;
    }
    assert_eq!(
        json_of(&nobody, "/v2/_catalog").await,
        json!({"repositories": []})
    );
    hidden(
        "expired",
        &expired,
        &m("web", "1.0"),
        &m("nope", "1.0"),
        "NAME_UNKNOWN",
    )
    .await;
    assert_eq!(
        json_of(&expired, "/v2/_catalog").await,
        json!({"repositories": []})
    );

    // All tags of web.
    for path in [
        m("web", "1.0"),
        m("web", "2.0"),
        m("web", &a1),
        m("web", &m1),
        m("web", &sig),
        m("web", &sig_b),
        b("web", &layer(b"m2-layer")),
        b("web", &layer(b"shared-layer")),
    ] {
        allowed("all-tags", &all, &path).await;
    }
    // An untagged manifest is no grant's target; api is not granted.
    for (path, missing, code) in [
        (m("web", &u), m("web", NO_DIGEST), "MANIFEST_UNKNOWN"),
        (
            b("web", &layer(b"u-layer")),
            b("web", NO_DIGEST),
            "BLOB_UNKNOWN",
        ),
        (m("api", "1.0"), m("nope", "1.0"), "NAME_UNKNOWN"),
    ] {
        hidden("all-tags", &all, &path, &missing, code).await;
    }
    assert_eq!(
        json_of(&all, "/v2/acme/web/tags/list").await["tags"],
        json!(["1.0", "2.0"])
    );
    assert_eq!(
        json_of(&all, "/v2/_catalog").await["repositories"],
        json!(["acme/web"])
    );

    // Specific tag 1.0: its target now (the index, its children, their
    // blobs), its target before the re-push, and the referrer of the index.
    for path in [
        m("web", "1.0"),
        m("web", &i),
        m("web", &a1),
        m("web", &m1),
        m("web", &m2),
        m("web", &sig),
        b("web", &layer(b"a1-layer")),
        b("web", &layer(b"m1-layer")),
    ] {
        allowed("spec", &spec, &path).await;
    }
    for (path, missing, code) in [
        (m("web", "2.0"), m("web", "9.9"), "MANIFEST_UNKNOWN"),
        (m("web", &b_digest), m("web", NO_DIGEST), "MANIFEST_UNKNOWN"),
        (m("web", &sig_b), m("web", NO_DIGEST), "MANIFEST_UNKNOWN"),
        (
            b("web", &layer(b"b-layer")),
            b("web", NO_DIGEST),
            "BLOB_UNKNOWN",
        ),
        // Linked in web, but only as a layer of B: knowing the digest is not enough.
        (
            b("web", &layer(b"shared-layer")),
            b("web", NO_DIGEST),
            "BLOB_UNKNOWN",
        ),
        (m("secret", "1.0"), m("nope", "1.0"), "NAME_UNKNOWN"),
        (
            "/v2/beta/web/manifests/1.0".to_owned(),
            "/v2/nope/web/manifests/1.0".to_owned(),
            "NAME_UNKNOWN",
        ),
    ] {
        hidden("spec", &spec, &path, &missing, code).await;
    }
    assert_eq!(
        json_of(&spec, "/v2/acme/web/tags/list").await["tags"],
        json!(["1.0"])
    );
    assert_eq!(
        json_of(&spec, "/v2/_catalog").await["repositories"],
        json!(["acme/web"])
    );
    let referrers = |d: &str| format!("/v2/acme/web/referrers/{d}");
    let of_i = json_of(&spec, &referrers(&i)).await;
    assert_eq!(of_i["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(of_i["manifests"][0]["digest"], json!(sig));
    assert_eq!(
        json_of(&spec, &referrers(&b_digest)).await,
        json_of(&spec, &referrers(NO_DIGEST)).await
    );
    assert_eq!(
        json_of(&vendor, &referrers(&b_digest)).await["manifests"][0]["digest"],
        json!(sig_b)
    );

    // Two entitlements: web 2.0 and all of api. A blob of api requested
    // through web is not there; through api it is.
    for path in [
        m("web", "2.0"),
        m("api", "1.0"),
        b("web", &layer(b"b-layer")),
        b("web", &layer(b"shared-layer")),
        b("api", &layer(b"c-layer")),
    ] {
        allowed("two", &two, &path).await;
    }
    for (path, missing, code) in [
        (m("web", "1.0"), m("web", "9.9"), "MANIFEST_UNKNOWN"),
        (
            b("web", &layer(b"c-layer")),
            b("web", NO_DIGEST),
            "BLOB_UNKNOWN",
        ),
        (
            b("web", &layer(b"m1-layer")),
            b("web", NO_DIGEST),
            "BLOB_UNKNOWN",
        ),
    ] {
        hidden("two", &two, &path, &missing, code).await;
    }
    assert_eq!(
        json_of(&two, "/v2/_catalog").await["repositories"],
        json!(["acme/api", "acme/web"])
    );
    assert_eq!(
        json_of(&two, "/v2/acme/web/tags/list").await["tags"],
        json!(["2.0"])
    );
    // Tag pagination counts only what the customer sees.
    let r = two
        .send(Method::GET, "/v2/acme/web/tags/list?n=1&last=1.0")
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["tags"], json!(["2.0"]));

    // Customers never write: 403 DENIED, even where they may pull.
    for (method, path) in [
        (Method::POST, "/v2/acme/web/blobs/uploads/".to_owned()),
        (Method::PUT, m("web", "1.0")),
        (Method::DELETE, m("web", "2.0")),
        (Method::DELETE, b("web", &layer(b"b-layer"))),
    ] {
        let r = two
            .req(method.clone(), &path)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            common::registry::error_code(r).await,
            (403, "DENIED".into()),
            "{method} {path}"
        );
    }
    // The vendor still sees everything of its own org.
    allowed("vendor", &vendor, &m("web", &u)).await;
    allowed("vendor", &vendor, &b("web", &layer(b"u-layer"))).await;

    // The customer API lists what the registry serves.
    let listed = |reg: &Reg| {
        let api = app.api(reg.token());
        async move {
            let v = api.send(Method::GET, "/api/v1/artifacts", None).await.1;
            v["artifacts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let tags: Vec<String> = a["tags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["tag"].as_str().unwrap().to_owned())
                        .collect();
                    (a["name"].as_str().unwrap().to_owned(), tags)
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(&spec).await,
        vec![("web".to_owned(), vec!["1.0".to_owned()])]
    );
    let mut two_sees = listed(&two).await;
    two_sees.sort();
    assert_eq!(
        two_sees,
        vec![
            ("api".to_owned(), vec!["1.0".to_owned()]),
            ("web".to_owned(), vec!["2.0".to_owned()])
        ]
    );
    assert!(listed(&nobody).await.is_empty());

    // Changes take effect on the very next request.
    // An entitlement deleted between two requests:
    allowed("all-tags", &all, &m("web", "2.0")).await;
    api.delete_entitlement(all_ent).await;
    hidden(
        "all-tags after delete",
        &all,
        &m("web", "2.0"),
        &m("nope", "2.0"),
        "NAME_UNKNOWN",
    )
    .await;
    // An entitlement edited (1.0 -> 2.0):
    let ents = api
        .get_ok(&format!("/api/v1/customers/{spec_id}/entitlements"))
        .await;
    let spec_ent = ents["entitlements"][0]["id"].as_i64().unwrap();
    let (s, e) = api
        .send(
            Method::PUT,
            &format!("/api/v1/entitlements/{spec_ent}"),
            Some(json!({"name": "spec", "artifacts": [{"artifact": "web", "tags": ["2.0"]}]})),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    allowed("spec after edit", &spec, &m("web", "2.0")).await;
    hidden(
        "spec after edit",
        &spec,
        &m("web", "1.0"),
        &m("web", "9.9"),
        "MANIFEST_UNKNOWN",
    )
    .await;
    // A revoked token:
    let spec_api = app.api(spec.token());
    let (_, mine) = spec_api.send(Method::GET, "/api/v1/tokens", None).await;
    let token_id = mine["tokens"][0]["id"].as_i64().unwrap();
    spec_api
        .ok(Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None)
        .await;
    let (s, _) = spec.fetch(Method::GET, &m("web", "2.0")).await;
    assert_eq!(s, 401, "a revoked token is refused at once");
    // The community plan (rule 1) through the CLI of another process: in
    // effect when the command returns.
    app.set_plan("acme", "community");
    allowed("nobody on community", &nobody, &m("secret", "1.0")).await;
    allowed("two on community", &two, &m("web", "1.0")).await;
    assert_eq!(
        json_of(&expired, "/v2/_catalog").await["repositories"],
        json!(["acme/api", "acme/secret", "acme/web"])
    );
    app.set_plan("acme", "pro");
    hidden(
        "nobody on pro again",
        &nobody,
        &m("secret", "1.0"),
        &m("nope", "1.0"),
        "NAME_UNKNOWN",
    )
    .await;
    // A removed customer's users are refused at once.
    let (s, _) = api
        .send(Method::DELETE, &format!("/api/v1/customers/{two_id}"), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(two.fetch(Method::GET, &m("api", "1.0")).await.0, 401);
}

/// Real clients as a customer entitled to web:1.0 only.
#[tokio::test]
async fn real_clients_pull_exactly_what_is_granted() {
    let app = TestApp::spawn();
    app.create_pro_org("acme", ADMIN, "admin password");
    let host = app.host();
    let vendor_creds = format!("{ADMIN}:{}", app.token(ADMIN, &[]));
    let work = tempfile::tempdir().unwrap();
    for (tag, content) in [("1.0", "one\n"), ("2.0", "two\n")] {
        let dest = format!("docker://{host}/acme/web:{tag}");
        push_umoci_image(work.path(), tag, content, &dest, &vendor_creds);
    }
    let dest = format!("docker://{host}/acme/secret:1.0");
    push_umoci_image(work.path(), "secret", "secret\n", &dest, &vendor_creds);

    let api = app.api(&app.token(ADMIN, &[]));
    let (id, customer) = customer(&app, &api, "Initech").await;
    api.entitle(
        id,
        json!({"name": "web 1", "artifacts": [{"artifact": "web", "tags": ["1.0"]}]}),
    )
    .await;
    let (email, token) = customer.auth.clone().unwrap();
    let creds = format!("{email}:{token}");

    // skopeo: inspect, list tags, copy out.
    let skopeo = |args: &[&str]| {
        Command::new("skopeo")
            .args(args)
            .args(["--tls-verify=false", "--creds", &creds])
            .output()
            .unwrap()
    };
    let ok = skopeo(&["inspect", &format!("docker://{host}/acme/web:1.0")]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let denied = skopeo(&["inspect", &format!("docker://{host}/acme/web:2.0")]);
    assert!(!denied.status.success());
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("manifest unknown"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    let denied = skopeo(&["inspect", &format!("docker://{host}/acme/secret:1.0")]);
    assert!(!denied.status.success());
    let tags = skopeo(&["list-tags", &format!("docker://{host}/acme/web")]);
    let tags: Value = serde_json::from_slice(&tags.stdout).unwrap();
    assert_eq!(tags["Tags"], json!(["1.0"]));
    let out = format!("oci:{}:1.0", work.path().join("pulled").display());
    skopeo_pull(&format!("docker://{host}/acme/web:1.0"), &out, &creds);

    // podman pull (root, vfs storage in a temporary directory).
    let storage = work.path().join("storage");
    let podman = |image: &str| {
        Command::new("podman")
            .arg("--root")
            .arg(storage.join("root"))
            .arg("--runroot")
            .arg(storage.join("run"))
            .args([
                "--storage-driver",
                "vfs",
                "pull",
                "--tls-verify=false",
                "--creds",
                &creds,
                image,
            ])
            .output()
            .unwrap()
    };
    let ok = podman(&format!("{host}/acme/web:1.0"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(!podman(&format!("{host}/acme/web:2.0")).status.success());
    assert!(!podman(&format!("{host}/acme/secret:1.0")).status.success());

    // oci-client.
    use oci_client::client::{ClientConfig, ClientProtocol};
    use oci_client::secrets::RegistryAuth;
    let c = oci_client::Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    });
    let auth = RegistryAuth::Basic(email.clone(), token.clone());
    let layer_types = vec![
        oci_client::manifest::IMAGE_LAYER_GZIP_MEDIA_TYPE,
        oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE,
    ];
    let one: oci_client::Reference = format!("{host}/acme/web:1.0").parse().unwrap();
    let pulled = c.pull(&one, &auth, layer_types.clone()).await.unwrap();
    assert_eq!(pulled.layers.len(), 1);
    let two: oci_client::Reference = format!("{host}/acme/web:2.0").parse().unwrap();
    assert!(c.pull(&two, &auth, layer_types.clone()).await.is_err());
    assert_eq!(
        c.list_tags(&one, &auth, None, None).await.unwrap().tags,
        vec!["1.0"]
    );
    // The layer of 2.0, asked for by digest through oci-client, is refused.
    // (The vendor reads the manifest with a client of its own: oci-client
    // keeps credentials per registry.)
    let vc = oci_client::Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    });
    let vendor_auth = RegistryAuth::Basic(
        ADMIN.into(),
        vendor_creds.split_once(':').unwrap().1.to_owned(),
    );
    let (manifest, _) = vc.pull_image_manifest(&two, &vendor_auth).await.unwrap();
    let mut sink = Vec::new();
    let err = c.pull_blob(&one, &manifest.layers[0], &mut sink).await;
    assert!(
        err.is_err(),
        "a blob of an ungranted tag must not be served"
    );
}

/// A vendor org on the pro plan with its admin's registry client and API.
async fn pro_org(app: &TestApp) -> (Reg, Api) {
    app.create_pro_org("acme", ADMIN, "admin password");
    let vendor = app.reg(ADMIN);
    let api = app.api(&app.token(ADMIN, &[]));
    (vendor, api)
}

#[tokio::test]
async fn referrers_of_an_invisible_repository_answer_like_a_missing_one() {
    let app = TestApp::spawn();
    let (vendor, api) = pro_org(&app).await;
    let body = image(&vendor, "acme/secret", "s", &[b"secret-layer"]).await;
    let subject = vendor
        .put_manifest("acme/secret", "1.0", MANIFEST, &body)
        .await;
    let sig = referrer(&vendor, "acme/secret", &subject, body.len(), b"sig").await;
    let web = image(&vendor, "acme/web", "w", &[b"web-layer"]).await;
    vendor.put_manifest("acme/web", "1.0", MANIFEST, &web).await;
    let (id, customer) = customer(&app, &api, "Web").await;
    api.entitle(
        id,
        json!({"name": "web", "artifacts": [{"artifact": "web", "tags": "all"}]}),
    )
    .await;
    // The vendor sees the referrer; the customer, for whom acme/secret is
    // invisible, gets exactly what a repository that does not exist gives:
    // an empty index (the spec forbids a 404 here).
    assert_eq!(
        json_of(&vendor, &format!("/v2/acme/secret/referrers/{subject}")).await["manifests"][0]
            ["digest"],
        json!(sig)
    );
    let invisible = customer
        .fetch(Method::GET, &format!("/v2/acme/secret/referrers/{subject}"))
        .await;
    let missing = customer
        .fetch(Method::GET, &format!("/v2/acme/nope/referrers/{subject}"))
        .await;
    assert_eq!(invisible.0, 200, "{}", invisible.1);
    assert_eq!(invisible, missing);
    assert_eq!(
        serde_json::from_str::<Value>(&invisible.1).unwrap()["manifests"],
        json!([])
    );
}

#[tokio::test]
async fn a_customers_catalog_lists_its_visible_artifacts_in_pages() {
    let app = TestApp::spawn();
    let (vendor, api) = pro_org(&app).await;
    let mut digests = std::collections::HashMap::new();
    for repo in ["a", "b/c", "b-c", "d", "e", "gone", "secret", "z"] {
        let body = image(&vendor, &format!("acme/{repo}"), repo, &[repo.as_bytes()]).await;
        let d = vendor
            .put_manifest(&format!("acme/{repo}"), "1.0", MANIFEST, &body)
            .await;
        digests.insert(repo, d);
    }
    let (id, customer) = customer(&app, &api, "Many").await;
    // Granted: five that exist and one whose content the vendor then
    // deletes (an empty repository is in no catalog).
    api.entitle(
        id,
        json!({"name": "many", "artifacts": [
            {"artifact": "a", "tags": "all"},
            {"artifact": "b/c", "tags": ["1.0"]},
            {"artifact": "b-c", "tags": "all"},
            {"artifact": "e", "tags": ["1.0"]},
            {"artifact": "gone", "tags": "all"},
            {"artifact": "z", "tags": "all"},
        ]}),
    )
    .await;
    let r = vendor
        .send(
            Method::DELETE,
            &format!("/v2/acme/gone/manifests/{}", digests["gone"]),
        )
        .await;
    assert_eq!(r.status(), 202);
    let all = json!(["acme/a", "acme/b-c", "acme/b/c", "acme/e", "acme/z"]);
    assert_eq!(
        json_of(&customer, "/v2/_catalog").await["repositories"],
        all
    );
    // Page by page with n, following the Link header to the end.
    let mut seen = vec![];
    let mut next = Some("/v2/_catalog?n=2".to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        let r = customer.send(Method::GET, &path).await;
        assert_eq!(r.status(), 200);
        next = r.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with(">; rel=\"next\""), "{l}");
            l.trim_start_matches('<')
                .split_once('>')
                .unwrap()
                .0
                .to_owned()
        });
        let page: Value = r.json().await.unwrap();
        let repos = page["repositories"].as_array().unwrap().clone();
        assert!(repos.len() <= 2);
        seen.extend(repos);
        pages += 1;
        assert!(pages <= 4, "the Link header never ends");
    }
    assert_eq!(Value::Array(seen), all);
    // last: strictly after it, even when it is not a visible name.
    assert_eq!(
        json_of(&customer, "/v2/_catalog?n=2&last=acme/b-c").await["repositories"],
        json!(["acme/b/c", "acme/e"])
    );
    assert_eq!(
        json_of(&customer, "/v2/_catalog?last=acme/d").await["repositories"],
        json!(["acme/e", "acme/z"])
    );
    assert_eq!(
        json_of(&customer, "/v2/_catalog?last=acme/z").await["repositories"],
        json!([])
    );
    // n=0: nothing and no Link.
    let r = customer.send(Method::GET, "/v2/_catalog?n=0").await;
    assert!(r.headers().get("link").is_none());
    assert_eq!(r.json::<Value>().await.unwrap()["repositories"], json!([]));
    // The vendor still sees everything.
    assert_eq!(
        json_of(&vendor, "/v2/_catalog").await["repositories"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}

#[tokio::test]
async fn a_customers_catalog_does_not_page_through_the_whole_org() {
    // Every SQL statement in the log, to count what a catalog reads.
    let app = TestApp::spawn_with_env(&[("PORTCULLIS_LOG", "info,sqlx::query=debug")]);
    let (vendor, api) = pro_org(&app).await;
    let body = image(&vendor, "acme/zz-web", "w", &[b"w"]).await;
    vendor
        .put_manifest("acme/zz-web", "1.0", MANIFEST, &body)
        .await;
    let (id, customer) = customer(&app, &api, "One").await;
    api.entitle(
        id,
        json!({"name": "one", "artifacts": [{"artifact": "zz-web", "tags": "all"}]}),
    )
    .await;
    // 30,000 other repositories of the org, each with a manifest, sorted
    // before the customer's one (written straight into the database).
    app.execute_sql(
        &[
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) \
             INSERT INTO repositories (org_id, name, created_at) \
             SELECT (SELECT id FROM orgs WHERE slug = 'acme'), printf('r%06d', i), '2026-01-01T00:00:00Z' FROM n",
            "INSERT INTO manifests (repository_id, digest, media_type, size, content, created_at) \
             SELECT id, 'sha256:' || printf('%064d', id), 'application/vnd.oci.image.manifest.v1+json', 2, X'7B7D', \
             '2026-01-01T00:00:00Z' FROM repositories WHERE name LIKE 'r%'",
        ],
        &[
            "INSERT INTO repositories (org_id, name, created_at) \
             SELECT (SELECT id FROM orgs WHERE slug = 'acme'), 'r' || lpad(i::text, 6, '0'), '2026-01-01T00:00:00Z' \
             FROM generate_series(1, 30000) i",
            "INSERT INTO manifests (repository_id, digest, media_type, size, content, created_at) \
             SELECT id, 'sha256:' || lpad(id::text, 64, '0'), 'application/vnd.oci.image.manifest.v1+json', 2, '\\x7b7d'::bytea, \
             '2026-01-01T00:00:00Z' FROM repositories WHERE name LIKE 'r%'",
        ],
    )
    .await;
    // The customer's catalog costs what its grant costs: the whole org's
    // catalog is not paged through (as it was, 10,000 names a query: 3+
    // queries of `repositories` per call here, 20 at 200,000 repositories).
    // Counted in the statement log, not timed.
    let before = app.statements("repositories").await;
    assert_eq!(
        json_of(&customer, "/v2/_catalog?n=1").await["repositories"],
        json!(["acme/zz-web"])
    );
    let during = app.statements("repositories").await - before;
    assert!(
        (1..=2).contains(&during),
        "a customer's catalog read repositories {during} times"
    );
    // The vendor's catalog pages as before.
    let page = json_of(&vendor, "/v2/_catalog?n=3").await;
    assert_eq!(
        page["repositories"],
        json!(["acme/r000001", "acme/r000002", "acme/r000003"])
    );
}

#[tokio::test]
async fn manifests_with_foreign_layers_are_entitled_like_any_other() {
    let app = TestApp::spawn();
    let (vendor, api) = pro_org(&app).await;
    let repo = "acme/win";
    let config = br#"{"os":"windows","architecture":"amd64"}"#;
    let config_digest = vendor.push_blob(repo, config).await;
    let local = vendor.push_blob(repo, b"local layer").await;
    let foreign = sha256(b"foreign base layer");
    let manifest = |tag: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": foreign, "size": 123456,
                 "urls": ["https://foreign.example/base"]},
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": local, "size": 11},
            ],
            "annotations": {"tag": tag},
        }))
        .unwrap()
    };
    let (one, two) = (manifest("1.0"), manifest("2.0"));
    let d1 = vendor.put_manifest(repo, "1.0", MANIFEST, &one).await;
    let d2 = vendor.put_manifest(repo, "2.0", MANIFEST, &two).await;
    let (id, customer) = customer(&app, &api, "Win").await;
    api.entitle(
        id,
        json!({"name": "win", "artifacts": [{"artifact": "win", "tags": ["1.0"]}]}),
    )
    .await;
    let m = |r: &str| format!("/v2/{repo}/manifests/{r}");
    let b = |d: &str| format!("/v2/{repo}/blobs/{d}");
    for path in [m("1.0"), m(&d1), b(&local), b(&config_digest)] {
        allowed("win", &customer, &path).await;
    }
    let head = customer.send(Method::HEAD, &m("1.0")).await;
    assert_eq!(head.status(), 200);
    assert_eq!(
        json_of(&customer, &format!("/v2/{repo}/tags/list")).await["tags"],
        json!(["1.0"])
    );
    hidden("win", &customer, &m("2.0"), &m("9.9"), "MANIFEST_UNKNOWN").await;
    hidden("win", &customer, &m(&d2), &m(NO_DIGEST), "MANIFEST_UNKNOWN").await;
    // The foreign layer is not in the registry for anyone.
    hidden(
        "win",
        &customer,
        &b(&foreign),
        &b(NO_DIGEST),
        "BLOB_UNKNOWN",
    )
    .await;
    hidden(
        "vendor",
        &vendor,
        &b(&foreign),
        &b(NO_DIGEST),
        "BLOB_UNKNOWN",
    )
    .await;
}

/// skopeo as `creds`: whether `image` can be inspected.
fn skopeo_can_inspect(creds: &str, image: &str) -> bool {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--creds", creds, image])
        .output()
        .unwrap();
    out.status.success()
}

#[tokio::test]
async fn tag_rules_cover_current_and_future_tags_for_real_clients() {
    let app = TestApp::spawn();
    let (vendor, api) = pro_org(&app).await;
    let host = app.host();
    for tag in ["1.0.0", "1.2.0", "2.0.0", "1.3.0-rc.1", "latest"] {
        vendor.push_image("acme/web", tag, &[tag.as_bytes()]).await;
    }
    for tag in ["1.0-stable", "1.0-beta"] {
        vendor.push_image("acme/api", tag, &[tag.as_bytes()]).await;
    }
    let (id, customer) = customer(&app, &api, "Initech").await;
    let creds = customer.creds();

    // Invalid rules are refused under their field, nothing is saved.
    let (status, body) = api
        .send(
            Method::POST,
            &format!("/api/v1/customers/{id}/entitlements"),
            Some(json!({"name": "bad", "artifacts": [
                {"artifact": "web", "tags": {"semver": ">=1.x.y"}},
                {"artifact": "api", "tags": {"match": "a/b"}}]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let fields = &body["error"]["fields"];
    assert!(
        fields["artifacts[0].tags"]
            .as_str()
            .unwrap()
            .contains("not a version range"),
        "{body}"
    );
    assert!(
        fields["artifacts[1].tags"]
            .as_str()
            .unwrap()
            .contains("\"/\""),
        "{body}"
    );

    let ent = api
        .entitle(
            id,
            json!({"name": "Stable 1.x", "artifacts": [
                {"artifact": "web", "tags": {"semver": ">=1.0, <2"}},
                {"artifact": "api", "tags": {"match": "*-stable"}}]}),
        )
        .await;
    let stored = api.get_ok(&format!("/api/v1/entitlements/{ent}")).await;
    assert_eq!(
        stored["artifacts"][0]["tags"],
        json!({"semver": ">=1.0, <2"})
    );
    assert_eq!(stored["artifacts"][1]["tags"], json!({"match": "*-stable"}));
    assert_eq!(stored["after_expiry"], "revoke");

    let can = |image: &str| skopeo_can_inspect(&creds, &format!("docker://{host}/acme/{image}"));
    for (image, ok) in [
        ("web:1.0.0", true),
        ("web:1.2.0", true),
        ("web:2.0.0", false),
        ("web:1.3.0-rc.1", false),
        ("web:latest", false),
        ("api:1.0-stable", true),
        ("api:1.0-beta", false),
    ] {
        assert_eq!(can(image), ok, "{image}");
    }
    let listed = json_of(&customer, "/v2/acme/web/tags/list").await;
    assert_eq!(listed["tags"], json!(["1.0.0", "1.2.0"]));

    // Later pushes: what matches is covered at once, what does not is not.
    let (later, _) = vendor.push_image("acme/web", "1.4.0", &[b"1.4.0"]).await;
    vendor.push_image("acme/web", "3.0.0", &[b"3.0.0"]).await;
    vendor
        .push_image("acme/api", "2.0-stable", &[b"2.0-stable"])
        .await;
    for (image, ok) in [
        ("web:1.4.0", true),
        ("web:3.0.0", false),
        ("api:2.0-stable", true),
    ] {
        assert_eq!(can(image), ok, "{image}");
    }
    allowed("Initech", &customer, &m("web", &later)).await;

    // A re-push under the rule: the tag follows, the earlier digest stays
    // pullable by digest (tag history).
    let (before, _) = vendor
        .push_image("acme/web", "1.2.0", &[b"1.2.0 again"])
        .await;
    let (again, _) = vendor
        .push_image("acme/web", "1.2.0", &[b"1.2.0 third"])
        .await;
    assert_ne!(before, again);
    allowed("Initech", &customer, &m("web", &before)).await;
    allowed("Initech", &customer, &m("web", &again)).await;
    let (moved, _) = vendor
        .push_image("acme/web", "2.0.0", &[b"2.0.0 again"])
        .await;
    hidden(
        "Initech",
        &customer,
        &m("web", &moved),
        &m("web", NO_DIGEST),
        "MANIFEST_UNKNOWN",
    )
    .await;
}

#[tokio::test]
async fn keep_released_keeps_what_was_covered_at_the_expiry() {
    let app = TestApp::spawn();
    let (vendor, api) = pro_org(&app).await;
    let host = app.host();
    let (one, _) = vendor.push_image("acme/web", "1.0.0", &[b"one"]).await;
    let (keeper, kept) = customer(&app, &api, "Keeper").await;
    let (revoker, revoked) = customer(&app, &api, "Revoker").await;
    let body = |after: &str, expires: Option<String>| {
        json!({"name": "1.x", "expires_at": expires, "after_expiry": after,
            "artifacts": [{"artifact": "web", "tags": {"semver": "^1"}}]})
    };
    let keep = api.entitle(keeper, body("keep_released", None)).await;
    let revoke = api.entitle(revoker, body("revoke", None)).await;
    let (two, _) = vendor.push_image("acme/web", "1.1.0", &[b"two"]).await;
    // Before the expiry both follow the rule.
    for reg in [&kept, &revoked] {
        allowed("before", reg, &m("web", "1.1.0")).await;
    }

    // The entitlements expire now; then 1.2.0 is pushed and 1.0.0 moves.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    for (id, after) in [(keep, "keep_released"), (revoke, "revoke")] {
        api.ok(
            Method::PUT,
            &format!("/api/v1/entitlements/{id}"),
            Some(body(after, Some(now.clone()))),
        )
        .await;
    }
    let (three, _) = vendor.push_image("acme/web", "1.2.0", &[b"three"]).await;
    let (moved, _) = vendor
        .push_image("acme/web", "1.0.0", &[b"one moved"])
        .await;

    // Keep-released: what was covered at the expiry, by digest and by the
    // tag that still points there; nothing pushed later.
    allowed("keeper", &kept, &m("web", "1.1.0")).await;
    allowed("keeper", &kept, &m("web", &two)).await;
    allowed("keeper", &kept, &m("web", &one)).await;
    let missing = m("web", NO_DIGEST);
    for path in [m("web", &three), m("web", &moved)] {
        hidden("keeper", &kept, &path, &missing, "MANIFEST_UNKNOWN").await;
    }
    for tag in ["1.2.0", "1.0.0"] {
        hidden(
            "keeper",
            &kept,
            &m("web", tag),
            &m("web", "9.9.9"),
            "MANIFEST_UNKNOWN",
        )
        .await;
    }
    let listed = json_of(&kept, "/v2/acme/web/tags/list").await;
    assert_eq!(listed["tags"], json!(["1.1.0"]));
    let creds = kept.creds();
    assert!(skopeo_can_inspect(
        &creds,
        &format!("docker://{host}/acme/web:1.1.0")
    ));
    assert!(!skopeo_can_inspect(
        &creds,
        &format!("docker://{host}/acme/web:1.2.0")
    ));

    // Revoke: nothing at all, the repository is invisible.
    hidden(
        "revoker",
        &revoked,
        &m("web", &two),
        "/v2/acme/nothing/manifests/1.0",
        "NAME_UNKNOWN",
    )
    .await;
}
