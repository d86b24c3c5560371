//! Registry helpers for tests: an authenticated raw HTTP client.

#![allow(dead_code)]

use sha2::Digest as _;

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// The media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A registry client with Basic credentials.
#[derive(Clone)]
pub struct Reg {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Option<(String, String)>,
}

impl Reg {
    pub fn new(base: &str, email: &str, token: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            auth: Some((email.to_owned(), token.to_owned())),
        }
    }

    pub fn anonymous(base: &str) -> Self {
        Self {
            auth: None,
            ..Self::new(base, "", "")
        }
    }

    /// The token it signs in with; fails the test for an anonymous client.
    pub fn token(&self) -> &str {
        &self.auth.as_ref().expect("credentials").1
    }

    /// Its credentials as `email:token`, as skopeo and podman take them.
    pub fn creds(&self) -> String {
        let (email, token) = self.auth.as_ref().expect("credentials");
        format!("{email}:{token}")
    }

    /// A client with the same credentials for the server at `base` (a
    /// restarted server, or another instance).
    pub fn on(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        };
        let r = self.http.request(method, url);
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    /// Sends `method path` without a body.
    pub async fn send(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.req(method, path).send().await.unwrap()
    }

    /// The status of `method path`.
    pub async fn status(&self, method: reqwest::Method, path: &str) -> u16 {
        self.send(method, path).await.status().as_u16()
    }

    /// The status of `method` on each of `paths`, in order.
    pub async fn statuses(&self, method: reqwest::Method, paths: &[&str]) -> Vec<u16> {
        let mut out = Vec::new();
        for path in paths {
            out.push(self.status(method.clone(), path).await);
        }
        out
    }

    /// Status and body of `method path`.
    pub async fn fetch(&self, method: reqwest::Method, path: &str) -> (u16, String) {
        let r = self.send(method, path).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Status and OCI error code of `method path`.
    pub async fn error_code(&self, method: reqwest::Method, path: &str) -> (u16, String) {
        error_code(self.send(method, path).await).await
    }

    /// The JSON body of `method path`.
    pub async fn json(&self, method: reqwest::Method, path: &str) -> serde_json::Value {
        self.send(method, path).await.json().await.unwrap()
    }

    /// Closes upload `loc` with a PUT of its last bytes `data` and the
    /// digest of the whole blob; the status.
    pub async fn close_upload(&self, loc: &str, digest: &str, data: &[u8]) -> u16 {
        self.req(reqwest::Method::PUT, &format!("{loc}?digest={digest}"))
            .body(data.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The bytes of blob `digest` in `repo`, which must answer 200.
    pub async fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let r = self
            .send(reqwest::Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
            .await;
        assert_eq!(r.status(), 200, "GET blob {digest} from {repo}");
        r.bytes().await.unwrap().to_vec()
    }

    /// Monolithic upload of a blob; returns its digest.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let d = sha256(data);
        let r = self
            .req(
                reqwest::Method::POST,
                &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
            )
            .header("Content-Type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "push blob: {}", r.text().await.unwrap());
        d
    }

    /// Pushes an image manifest with a config and the given layers; returns its digest.
    pub async fn push_image(&self, repo: &str, tag: &str, layers: &[&[u8]]) -> (String, Vec<u8>) {
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "tag": tag
        }))
        .unwrap();
        let config_digest = self.push_blob(repo, &config).await;
        let mut layer_descs = vec![];
        for l in layers {
            let d = self.push_blob(repo, l).await;
            layer_descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": l.len()}));
        }
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": layer_descs,
        }))
        .unwrap();
        let d = self
            .put_manifest(
                repo,
                tag,
                "application/vnd.oci.image.manifest.v1+json",
                &manifest,
            )
            .await;
        (d, manifest)
    }

    /// `PUT` of a manifest (`body`, of `media_type`) as `repo:reference`
    /// (which may carry a query, `?tag=…`); the answer, whatever it is.
    pub async fn send_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let path = format!("/v2/{repo}/manifests/{reference}");
        self.req(reqwest::Method::PUT, &path)
            .header("Content-Type", media_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `PUT` of an OCI image manifest (`body`) as `repo:reference`, which
    /// must succeed; its digest.
    pub async fn put_oci_manifest(&self, repo: &str, reference: &str, body: &[u8]) -> String {
        self.put_manifest(repo, reference, OCI_MANIFEST, body).await
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let r = self
            .send_manifest(repo, reference, media_type, body.to_vec())
            .await;
        let status = r.status();
        let digest = r
            .headers()
            .get("docker-content-digest")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(status, 201, "put manifest: {}", r.text().await.unwrap());
        let digest = digest.unwrap();
        assert_eq!(digest, sha256(body));
        digest
    }
}

impl super::TestApp {
    /// A registry client signed in as `email` with a new token (through the CLI).
    pub fn reg(&self, email: &str) -> Reg {
        Reg::new(&self.base, email, &self.token(email, &[]))
    }

    /// Creates org `slug` and its admin `email` (through the CLI); that
    /// admin's registry client.
    pub fn vendor(&self, slug: &str, email: &str, password: &str) -> Reg {
        self.create_org(slug, email, password);
        self.reg(email)
    }
}

/// The OCI error code of a response body.
pub async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not an OCI error: {status} {text}"));
    (
        status,
        v["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Sends a request line exactly as given (no URL normalization) and returns
/// the status and body.
pub async fn raw_request(reg: &Reg, method: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = reg.base.trim_start_matches("http://").to_owned();
    let (email, token) = reg.auth.clone().unwrap_or_default();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{email}:{token}"),
    );
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    sock.read_to_string(&mut out).await.unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
