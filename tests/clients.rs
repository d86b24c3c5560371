//! Real registry clients against a real server: the `oci-client` crate, and
//! umoci, skopeo, podman, buildah and the oras Python SDK from the system.

mod common;

use common::clients::{run, skopeo_round_trip};
use common::registry::{sha256, Reg};
use common::TestApp;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::path::Path;
use std::process::Command;

const ADMIN: &str = "a@acme.test";

fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, "admin password");
    let token = app.token(ADMIN, &[]);
    let host = app.host();
    (app, token, host)
}

fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    })
}

#[tokio::test]
async fn oci_client_pushes_and_pulls_a_two_layer_image() {
    let (_app, token, host) = setup();
    let auth = RegistryAuth::Basic(ADMIN.into(), token);
    let c = client();
    let reference: Reference = format!("{host}/acme/web:1.0.0").parse().unwrap();
    let layers = vec![
        ImageLayer::oci_v1(vec![1u8; 100_000], None),
        ImageLayer::oci_v1(b"second".to_vec(), None),
    ];
    let config = Config::oci_v1(br#"{"architecture":"amd64","os":"linux"}"#.to_vec(), None);
    c.push(&reference, &layers, config, &auth, None)
        .await
        .unwrap();

    let image = c
        .pull(
            &reference,
            &auth,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .unwrap();
    // oci-client downloads layers concurrently, so compare them as a set
    // (by digest, so a failure prints something readable).
    let mut pulled: Vec<String> = image.layers.iter().map(|l| sha256(&l.data)).collect();
    let mut expected = vec![sha256(&[1u8; 100_000]), sha256(b"second")];
    pulled.sort();
    expected.sort();
    assert_eq!(pulled, expected);
    assert!(image.digest.unwrap().starts_with("sha256:"));
}

#[tokio::test]
async fn oci_client_chunked_upload_tags_pagination_and_referrers() {
    let (_app, token, host) = setup();
    let auth = RegistryAuth::Basic(ADMIN.into(), token.clone());
    let c = client();
    let reference: Reference = format!("{host}/acme/chunky:1").parse().unwrap();
    c.auth(&reference, &auth, oci_client::RegistryOperation::Push)
        .await
        .unwrap();

    // A chunked upload of 3 MiB in 64 KiB pieces.
    let data: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let chunks: Vec<oci_client::errors::Result<bytes::Bytes>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let pushed = c
        .push_blob_stream_chunked(&reference, futures::stream::iter(chunks))
        .await
        .unwrap();
    assert_eq!(pushed.blob_digest, sha256(&data));
    assert_eq!(pushed.size, data.len() as u64);
    let mut pulled = Vec::new();
    c.pull_blob(
        &reference,
        &OciDescriptor {
            digest: pushed.blob_digest.clone(),
            size: data.len() as i64,
            ..Default::default()
        },
        &mut pulled,
    )
    .await
    .unwrap();
    assert!(pulled == data, "chunked blob differs after the round trip");

    // Tags, paginated.
    let layers = vec![ImageLayer::oci_v1(b"l".to_vec(), None)];
    for tag in ["a", "b", "c", "d", "e"] {
        let r: Reference = format!("{host}/acme/chunky:{tag}").parse().unwrap();
        let config = Config::oci_v1(format!(r#"{{"tag":"{tag}"}}"#).into_bytes(), None);
        c.push(&r, &layers, config, &auth, None).await.unwrap();
    }
    let page1 = c.list_tags(&reference, &auth, Some(2), None).await.unwrap();
    assert_eq!(page1.tags, vec!["a", "b"]);
    let page2 = c
        .list_tags(&reference, &auth, Some(2), Some("b"))
        .await
        .unwrap();
    assert_eq!(page2.tags, vec!["c", "d"]);
    let page3 = c
        .list_tags(&reference, &auth, Some(2), Some("d"))
        .await
        .unwrap();
    assert_eq!(page3.tags, vec!["e"]);

    // A referrer (an SBOM-like artifact) of tag "a", found through the referrers API.
    let subject_ref: Reference = format!("{host}/acme/chunky:a").parse().unwrap();
    let (_, subject_digest) = c.pull_image_manifest(&subject_ref, &auth).await.unwrap();
    let reg = Reg::new(&format!("http://{host}"), ADMIN, &token);
    let raw = reg
        .send(
            reqwest::Method::GET,
            &format!("/v2/acme/chunky/manifests/{subject_digest}"),
        )
        .await
        .bytes()
        .await
        .unwrap();
    let sbom_layer = ImageLayer::new(
        b"{\"sbom\":true}".to_vec(),
        "application/spdx+json".into(),
        None,
    );
    let sbom_config = Config::new(
        b"{}".to_vec(),
        "application/vnd.oci.empty.v1+json".into(),
        None,
    );
    let mut manifest =
        OciImageManifest::build(std::slice::from_ref(&sbom_layer), &sbom_config, None);
    manifest.artifact_type = Some("application/spdx+json".into());
    manifest.subject = Some(OciDescriptor {
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        digest: subject_digest.clone(),
        size: raw.len() as i64,
        ..Default::default()
    });
    let sbom_ref: Reference = format!("{host}/acme/chunky:sbom").parse().unwrap();
    c.push(&sbom_ref, &[sbom_layer], sbom_config, &auth, Some(manifest))
        .await
        .unwrap();
    let subject_by_digest: Reference = format!("{host}/acme/chunky@{subject_digest}")
        .parse()
        .unwrap();
    let index = c.pull_referrers(&subject_by_digest, None).await.unwrap();
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(
        index.manifests[0].artifact_type.as_deref(),
        Some("application/spdx+json")
    );
    let filtered = c
        .pull_referrers(&subject_by_digest, Some("application/x-other"))
        .await
        .unwrap();
    assert!(filtered.manifests.is_empty());
}

#[tokio::test]
async fn skopeo_podman_and_buildah() {
    let (_app, token, host) = setup();
    let work = tempfile::tempdir().unwrap();
    let creds = format!("{ADMIN}:{token}");

    // skopeo copy in, then out again: the digests are equal.
    let pushed = skopeo_round_trip(work.path(), &host, &creds);

    // podman pull (root, vfs storage in a temporary directory).
    let storage = work.path().join("storage");
    // podman and buildah share root, run root and vfs storage.
    let tool = |name: &str, args: &[&str]| {
        let mut cmd = Command::new(name);
        cmd.arg("--root")
            .arg(storage.join("root"))
            .arg("--runroot")
            .arg(storage.join("run"))
            .args(["--storage-driver", "vfs"])
            .args(args);
        run(&mut cmd)
    };
    let podman = |args: &[&str]| tool("podman", args);
    podman(&[
        "pull",
        "--tls-verify=false",
        "--creds",
        &creds,
        &format!("{host}/acme/web:1.0"),
    ]);
    let images = podman(&[
        "images",
        "--digests",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.Digest}}",
    ]);
    assert!(
        images.contains(&format!("{host}/acme/web:1.0 {pushed}")),
        "{images}"
    );

    // buildah push of an image built from scratch.
    let buildah = |args: &[&str]| tool("buildah", args);
    buildah(&["from", "--name", "work", "scratch"]);
    buildah(&["config", "--label", "made-by=buildah", "work"]);
    buildah(&["commit", "work", "built"]);
    buildah(&[
        "push",
        "--tls-verify=false",
        "--creds",
        &creds,
        "built",
        &format!("docker://{host}/acme/built:1"),
    ]);
    let reg = Reg::new(&format!("http://{host}"), ADMIN, &token);
    let catalog: serde_json::Value = reg
        .send(reqwest::Method::GET, "/v2/_catalog")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        catalog["repositories"],
        serde_json::json!(["acme/built", "acme/web"])
    );
}

#[tokio::test]
async fn oras_python_sdk_pushes_and_pulls_a_generic_artifact() {
    let (app, token, host) = setup();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/oras_roundtrip.py");
    let out =
        run(Command::new("python3")
            .arg(script)
            .args([&host, ADMIN, &token, "acme/files:1.0"]));
    assert_eq!(out.trim(), "ok");
    // It shows in the console as a generic artifact.
    let web = app.signed_in(ADMIN, "admin password").await;
    let listed = app.call(&web, "list_artifacts", &[]).await;
    assert_eq!(listed.body["artifacts"][0]["name"], "files");
    assert_eq!(listed.body["artifacts"][0]["kind"], "other");
}

#[tokio::test]
async fn helm_chart_shaped_artifacts_are_detected() {
    let (app, token, host) = setup();
    let reg = Reg::new(&format!("http://{host}"), ADMIN, &token);
    let chart = b"fake chart tarball".to_vec();
    let config = br#"{"name":"web","version":"1.2.3","apiVersion":"v2"}"#.to_vec();
    let chart_d = reg.push_blob("acme/charts/web", &chart).await;
    let config_d = reg.push_blob("acme/charts/web", &config).await;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": config_d, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": chart_d, "size": chart.len()}]
    }))
    .unwrap();
    reg.put_oci_manifest("acme/charts/web", "1.2.3", &manifest)
        .await;
    let (_, _) = reg.push_image("acme/web", "1.0", &[b"layer"]).await;
    let web = app.signed_in(ADMIN, "admin password").await;
    let listed = app.call(&web, "list_artifacts", &[]).await;
    let kinds: Vec<(String, String)> = listed.body["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("charts/web".into(), "helm-chart".into()),
            ("web".into(), "container-image".into())
        ]
    );
    let detail = app
        .call(&web, "get_artifact", &[("name", "charts/web")])
        .await;
    assert_eq!(detail.body["tags"][0]["tag"], "1.2.3");
    assert_eq!(
        detail.body["tags"][0]["size"],
        (manifest.len() + chart.len() + config.len()) as i64
    );
    // Another org's artifact is not found.
    let missing = app.call(&web, "get_artifact", &[("name", "nope")]).await;
    assert_eq!(missing.status, 404);
}
