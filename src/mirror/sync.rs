//! One sync of one upstream: tags, manifests (indexes with their children,
//! referrers), blobs streamed into storage. See [`super`].

use super::error::{Kind, SyncError};
use super::guard::Egress;
use crate::registry::storage::ChunkError;
use crate::registry::{manifests, Registry};
use domain::oci::{Algorithm, Digest, RepositoryName};
use domain::registry::is_non_distributable;
use domain::store::UpstreamRecord;
use domain::upstreams::{TagSelection, UpstreamUrl};
use domain::OrgId;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use services::Services;
use sha2::Digest as _;
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const ACCEPT: &[&str] = &[
    OCI_INDEX,
    OCI_MANIFEST,
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// Tags asked for per page of the upstream's tag list.
const TAG_PAGE: usize = 1000;
/// Attempts of one request (the first and three retries).
const ATTEMPTS: u32 = 4;

/// What a running sync has done, read by the engine every second.
#[derive(Default)]
pub struct Progress {
    tags_done: AtomicI64,
    tags_total: AtomicI64,
    bytes: AtomicI64,
}

impl Progress {
    pub fn read(&self) -> (i64, i64, i64) {
        (
            self.tags_done.load(Ordering::Relaxed),
            self.tags_total.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// How a sync ended.
pub struct Finished {
    pub error: Option<String>,
    pub tags: Vec<String>,
}

impl Finished {
    pub fn failed(e: SyncError) -> Self {
        Finished {
            error: Some(e.message),
            tags: vec![],
        }
    }
}

pub struct Job {
    ctx: Services,
    registry: Arc<Registry>,
    client: Client,
    /// Every connection of `client` goes through it (the SSRF guard).
    egress: Egress,
    auth: RegistryAuth,
    with_credentials: bool,
    url: UpstreamUrl,
    repository: String,
    name: RepositoryName,
    org_id: OrgId,
    repo_id: domain::store::RepoId,
    immutable: bool,
    tags: TagSelection,
    mirror_deletions: bool,
    progress: Arc<Progress>,
    transfers: Arc<tokio::sync::Semaphore>,
    /// Manifests stored (or found here) in this run.
    done: Mutex<HashSet<String>>,
}

impl Job {
    pub async fn new(
        ctx: &Services,
        registry: &Arc<Registry>,
        record: &UpstreamRecord,
        progress: Arc<Progress>,
        transfers: Arc<tokio::sync::Semaphore>,
    ) -> Result<Job, SyncError> {
        let internal = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "mirror: store error");
            SyncError::new(
                Kind::Other,
                "an internal error stopped the sync (see the server log)",
            )
        };
        let v = &record.view;
        let url = UpstreamUrl::parse(&v.url)
            .map_err(|e| SyncError::new(Kind::Other, format!("the registry URL {e}")))?;
        let org = ctx
            .store
            .org(record.org_id)
            .await
            .map_err(|e| internal(&e))?;
        let name = RepositoryName::parse(&format!("{}/{}", org.slug, v.artifact))
            .map_err(|e| internal(&e))?;
        let repo = ctx
            .store
            .ensure_repo(record.org_id, &v.artifact)
            .await
            .map_err(|e| internal(&e))?;
        let credentials = ctx
            .upstream_credentials(record)
            .map_err(|m| SyncError::new(Kind::Credentials, m))?;
        let (auth, with_credentials) = match credentials {
            Some((user, secret)) => (RegistryAuth::Basic(user, secret.expose().to_owned()), true),
            None => (RegistryAuth::Anonymous, false),
        };
        let protocol = if url.https {
            ClientProtocol::Https
        } else {
            ClientProtocol::HttpsExcept(vec![url.registry()])
        };
        let egress = Egress::start(ctx.upstreams.allow_private)
            .await
            .map_err(|e| internal(&e))?;
        let client = Client::try_from(ClientConfig {
            protocol,
            http_proxy: Some(egress.url().to_owned()),
            https_proxy: Some(egress.url().to_owned()),
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("portcullis-mirror/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        })
        .map_err(|e| SyncError::new(Kind::Other, format!("cannot set up the client: {e}")))?;
        Ok(Job {
            ctx: ctx.clone(),
            registry: registry.clone(),
            client,
            egress,
            auth,
            with_credentials,
            url,
            repository: v.repository.clone(),
            name,
            org_id: record.org_id,
            repo_id: repo.id,
            immutable: org.immutable_tags,
            tags: v.tags.clone(),
            mirror_deletions: v.mirror_deletions,
            progress,
            transfers,
            done: Mutex::default(),
        })
    }

    fn reference_tag(&self, tag: &str) -> Reference {
        Reference::with_tag(self.url.registry(), self.repository.clone(), tag.to_owned())
    }

    fn reference_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.url.registry(),
            self.repository.clone(),
            digest.to_owned(),
        )
    }

    fn oci_error(&self, e: &oci_client::errors::OciDistributionError, what: &str) -> SyncError {
        // What the egress proxy refused (or could not reach) is the cause.
        self.egress.failure().unwrap_or_else(|| {
            SyncError::from_oci(e, &self.url.registry(), what, self.with_credentials)
        })
    }

    fn internal(&self, e: impl std::fmt::Display) -> SyncError {
        tracing::error!(error = %e, artifact = %self.name, "mirror: internal error");
        SyncError::new(
            Kind::Other,
            "an internal error stopped the sync (see the server log)",
        )
    }

    /// Runs `op` with retries of transient failures, backing off 0.5 s,
    /// 1 s, 2 s.
    async fn attempt<T, F, Fut>(&self, what: &str, op: F) -> Result<T, SyncError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
    {
        let mut wait = Duration::from_millis(500);
        let mut n = 0;
        loop {
            n += 1;
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let e = self.oci_error(&e, what);
                    if !e.transient() || n >= ATTEMPTS {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, "mirror: retrying");
                }
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }

    /// The manifest `reference` names upstream (`what`, in a failure's
    /// message), as it was sent, with its digest.
    async fn pull_manifest(
        &self,
        what: &str,
        reference: Reference,
    ) -> Result<(bytes::Bytes, String), SyncError> {
        self.attempt(what, || {
            self.client
                .pull_manifest_raw(&reference, &self.auth, ACCEPT)
        })
        .await
    }

    pub async fn run(self) -> Finished {
        // Which tags, and what each points at upstream.
        let repository = format!("repository {}", self.repository);
        let reference = self.reference_tag("latest");
        // A page of tags at a time (`n` and `last`, as the spec pages them).
        let mut listed: Vec<String> = Vec::new();
        loop {
            let last = listed.last().cloned();
            let page = match self
                .attempt(&repository, || {
                    self.client
                        .list_tags(&reference, &self.auth, Some(TAG_PAGE), last.as_deref())
                })
                .await
            {
                Ok(r) => r.tags,
                Err(e) => return Finished::failed(e),
            };
            let full = page.len() >= TAG_PAGE;
            let before = listed.len();
            listed.extend(
                page.into_iter()
                    .filter(|t| !listed.contains(t))
                    .collect::<Vec<_>>(),
            );
            if !full || listed.len() == before {
                break;
            }
        }
        let wanted: Vec<String> = match &self.tags {
            TagSelection::All => listed.clone(),
            TagSelection::List(l) => l.clone(),
        };
        self.progress
            .tags_total
            .store(wanted.len() as i64, Ordering::Relaxed);
        let mut synced = Vec::new();
        let mut errors: Vec<SyncError> = Vec::new();
        let mut gone: Vec<String> = Vec::new();
        for tag in &wanted {
            if !listed.contains(tag) {
                gone.push(tag.clone());
                if !self.mirror_deletions {
                    errors.push(SyncError::new(
                        Kind::NotFound,
                        format!(
                            "not found: {} has no tag {tag} in {}",
                            self.url.registry(),
                            self.repository
                        ),
                    ));
                }
            } else {
                match self.copy_tag(tag).await {
                    Ok(()) => synced.push(tag.clone()),
                    Err(e) => {
                        // Nothing else will work either.
                        let fatal = matches!(
                            e.kind,
                            Kind::Credentials | Kind::Unreachable | Kind::Refused
                        );
                        errors.push(e);
                        if fatal {
                            break;
                        }
                    }
                }
            }
            self.progress.tags_done.fetch_add(1, Ordering::Relaxed);
        }
        if self.mirror_deletions && errors.is_empty() {
            if let Err(e) = self.delete_missing(&listed, &gone).await {
                errors.push(e);
            }
        }
        let error = match errors.len() {
            0 => None,
            1 => Some(errors[0].message.clone()),
            n => Some(format!("{} (and {} more)", errors[0].message, n - 1)),
        };
        Finished {
            error,
            tags: synced,
        }
    }

    /// With `mirror_deletions`: tags here that the upstream no longer has
    /// (all of them for "all"; the listed ones that are gone otherwise).
    async fn delete_missing(&self, listed: &[String], gone: &[String]) -> Result<(), SyncError> {
        let doomed: Vec<String> = match &self.tags {
            TagSelection::All => self
                .ctx
                .store
                .tags(self.repo_id, None, 100_000)
                .await
                .map_err(|e| self.internal(e))?
                .into_iter()
                .filter(|t| !listed.contains(t))
                .collect(),
            TagSelection::List(_) => gone.to_vec(),
        };
        for t in doomed {
            self.ctx
                .store
                .delete_tag(self.repo_id, &t)
                .await
                .map_err(|e| self.internal(e))?;
        }
        self.registry.cache.evict_repo(self.name.as_str());
        Ok(())
    }

    /// Copies what `tag` points at upstream and moves the tag here to it.
    async fn copy_tag(&self, tag: &str) -> Result<(), SyncError> {
        let what = format!("tag {tag} of {}", self.repository);
        let (content, digest) = self.pull_manifest(&what, self.reference_tag(tag)).await?;
        let here = self
            .ctx
            .store
            .manifest_by_tag(self.repo_id, tag)
            .await
            .map_err(|e| self.internal(e))?;
        if here.is_some_and(|m| m.digest == digest) {
            // Up to date; referrers may have been added since.
            return self.copy_referrers(&digest).await;
        }
        self.copy_manifest(digest.clone(), content.to_vec()).await?;
        self.store_manifest(&digest, &content, &[tag]).await
    }

    /// Stores a manifest through the registry's push path.
    async fn store_manifest(
        &self,
        digest: &str,
        content: &[u8],
        tags: &[&str],
    ) -> Result<(), SyncError> {
        let parsed = Digest::parse(digest).map_err(|_| {
            SyncError::new(
                Kind::Other,
                format!(
                    "{} sent a manifest with an invalid digest",
                    self.url.registry()
                ),
            )
        })?;
        let media_type = media_type_of(content);
        manifests::store(
            &self.ctx,
            &self.registry,
            self.org_id,
            &self.name,
            content,
            media_type.as_deref(),
            &parsed,
            tags,
            self.immutable,
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            crate::registry::RegistryError::TagImmutable(t) => SyncError::new(
                Kind::Other,
                format!("tag {t} moved upstream but tags are immutable in this organization"),
            ),
            crate::registry::RegistryError::ManifestInvalid(m) => SyncError::new(
                Kind::Other,
                format!("a manifest of the upstream is not valid here: {m}"),
            ),
            other => self.internal(format!("{other:?}")),
        })
    }

    /// Copies a manifest's content (children, blobs) and stores it, then
    /// its referrers. A manifest already here is only checked for new
    /// referrers.
    fn copy_manifest(
        &self,
        digest: String,
        content: Vec<u8>,
    ) -> BoxFuture<'_, Result<(), SyncError>> {
        async move {
            if !self
                .done
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(digest.clone())
            {
                return Ok(());
            }
            let here = self
                .ctx
                .store
                .manifest_by_digest(self.repo_id, &digest)
                .await
                .map_err(|e| self.internal(e))?;
            if here.is_none() {
                let value: serde_json::Value = serde_json::from_slice(&content).map_err(|_| {
                    SyncError::new(
                        Kind::Other,
                        format!("{} sent a manifest that is not JSON", self.url.registry()),
                    )
                })?;
                if let Some(children) = value.get("manifests").and_then(|m| m.as_array()) {
                    for child in children {
                        let Some(d) = child.get("digest").and_then(|d| d.as_str()) else {
                            continue;
                        };
                        self.copy_child(d).await?;
                    }
                } else {
                    let mut blobs = Vec::new();
                    if let Some(config) = value.get("config") {
                        blobs.push(config.clone());
                    }
                    if let Some(layers) = value.get("layers").and_then(|l| l.as_array()) {
                        blobs.extend(layers.iter().cloned());
                    }
                    let results: Vec<Result<(), SyncError>> = futures::stream::iter(blobs)
                        .map(|b| self.copy_blob(b))
                        .buffer_unordered(super::TRANSFERS)
                        .collect()
                        .await;
                    for r in results {
                        r?;
                    }
                }
                self.store_manifest(&digest, &content, &[]).await?;
            }
            self.copy_referrers(&digest).await
        }
        .boxed()
    }

    /// A child (or referrer) manifest, by digest.
    async fn copy_child(&self, digest: &str) -> Result<(), SyncError> {
        if self
            .done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(digest)
        {
            return Ok(());
        }
        let what = format!("manifest {digest}");
        let (content, got) = self
            .pull_manifest(&what, self.reference_digest(digest))
            .await?;
        self.copy_manifest(got, content.to_vec()).await
    }

    /// The referrers of `digest`, when the upstream has the referrers API
    /// (or the tag schema); a registry without either has none.
    async fn copy_referrers(&self, digest: &str) -> Result<(), SyncError> {
        let what = format!("referrers of {digest}");
        let reference = self.reference_digest(digest);
        let index = match self
            .attempt(&what, || self.client.pull_referrers(&reference, None))
            .await
        {
            Ok(i) => i,
            // Not offered: nothing to copy.
            Err(e) if matches!(e.kind, Kind::NotFound | Kind::Other) => return Ok(()),
            Err(e) => return Err(e),
        };
        for r in index.manifests {
            self.copy_child(&r.digest).await?;
        }
        Ok(())
    }

    /// One config or layer blob: linked when stored already, else streamed
    /// in (a bounded number at once across the process).
    async fn copy_blob(&self, descriptor: serde_json::Value) -> Result<(), SyncError> {
        let Some(digest) = descriptor.get("digest").and_then(|d| d.as_str()) else {
            return Err(SyncError::new(
                Kind::Other,
                "a manifest of the upstream has a blob without a digest",
            ));
        };
        let media_type = descriptor
            .get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or("");
        if is_non_distributable(media_type) {
            return Ok(());
        }
        let parsed = Digest::parse(digest).map_err(|_| {
            SyncError::new(
                Kind::Other,
                format!("a manifest of the upstream names an invalid digest {digest}"),
            )
        })?;
        let store = &self.ctx.store;
        if store
            .repo_blob(self.repo_id, digest)
            .await
            .map_err(|e| self.internal(e))?
            .is_some()
        {
            return Ok(());
        }
        if let Some(size) = store
            .blob_size(digest)
            .await
            .map_err(|e| self.internal(e))?
        {
            return store
                .link_blob(self.repo_id, digest, size)
                .await
                .map_err(|e| self.internal(e));
        }
        let _turn = self
            .transfers
            .acquire()
            .await
            .map_err(|e| self.internal(e))?;
        let what = format!("blob {digest}");
        let mut wait = Duration::from_millis(500);
        let mut n = 0;
        loop {
            n += 1;
            match self.download(&parsed, &what).await {
                Ok(size) => {
                    return store
                        .link_blob(self.repo_id, digest, size as i64)
                        .await
                        .map_err(|e| self.internal(e))
                }
                Err(e) if e.transient() && n < ATTEMPTS => {
                    tracing::debug!(error = %e, "mirror: retrying a blob");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Streams one blob into storage, verifying its digest; nothing stays
    /// behind when it fails.
    async fn download(&self, digest: &Digest, what: &str) -> Result<u64, SyncError> {
        let stream = self
            .client
            .pull_blob_stream(&self.reference_digest(digest.as_str()), digest.as_str())
            .await
            .map_err(|e| self.oci_error(&e, what))?;
        // One chunk of an upload no session names (the sweeper deletes
        // such chunks only when a day old), committed like a push's: into
        // the configured storage, the folder or the bucket.
        let upload = format!("mirror-{}", uuid::Uuid::new_v4().simple());
        let part = "0".to_owned();
        let mut hasher = Hasher::new(digest.algorithm());
        let bytes = &self.progress.bytes;
        let written = self
            .registry
            .storage
            .write_chunk(&upload, &part, stream.stream, |b| {
                hasher.update(b);
                bytes.fetch_add(b.len() as i64, Ordering::Relaxed);
            })
            .await;
        let written = match written {
            Ok(w) => w,
            // The chunk is gone already (write_chunk removes a partial one).
            Err(ChunkError::Storage(e)) => return Err(self.internal(e)),
            Err(ChunkError::Body(_)) => {
                return Err(SyncError::new(
                    Kind::Unreachable,
                    format!(
                        "unreachable: the connection to {} broke while copying the {what}",
                        self.url.registry()
                    ),
                ))
            }
        };
        // An empty blob is no chunk at all.
        let parts = if written == 0 { Vec::new() } else { vec![part] };
        if hasher.finish() != digest.hex() {
            self.registry.storage.discard(&upload, &parts).await;
            return Err(SyncError::new(
                Kind::Other,
                format!(
                    "{} sent the {what} with content that does not match its digest",
                    self.url.registry()
                ),
            ));
        }
        if let Err(e) = self.registry.storage.commit(&upload, &parts, digest).await {
            self.registry.storage.discard(&upload, &parts).await;
            return Err(self.internal(e));
        }
        Ok(written)
    }
}

/// A manifest's media type: its `mediaType`, else what its shape says
/// (OCI manifests may leave it out).
fn media_type_of(content: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(content).ok()?;
    if let Some(m) = value.get("mediaType").and_then(|m| m.as_str()) {
        return Some(m.to_owned());
    }
    if value.get("manifests").is_some() {
        Some(OCI_INDEX.to_owned())
    } else {
        Some(OCI_MANIFEST.to_owned())
    }
}

enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(a: Algorithm) -> Self {
        match a {
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            _ => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}
