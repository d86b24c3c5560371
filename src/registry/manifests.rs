//! Manifests: GET/HEAD/PUT/DELETE by tag or digest.

use super::{
    allowed, authorize, authorize_pull, existing_repo, header_str, repo_graph, Need, Reach,
    RegistryError, RegistryResult, Req,
};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::oci::Tag;
use domain::oci::{Digest, Reference, RepositoryName};
use domain::registry::{
    is_non_distributable, ArtifactKind, ManifestRef, NewManifest, StoredManifest,
};
use domain::store::{DeleteManifest, PutManifestError};
use domain::token_cache::CachedToken;
use domain::Principal;
use oci_spec::image::{ImageIndex, ImageManifest};
use std::sync::Arc;

use super::cache::CachedManifest;
use super::pull_log::{self, ManifestGet};

/// The largest manifest accepted (the spec's recommended minimum limit).
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Whether a manifest of this media type is an index (a list of manifests).
pub(crate) fn is_index(media_type: &str) -> bool {
    matches!(media_type, OCI_INDEX | DOCKER_LIST)
}

/// A manifest GET or HEAD. (`name` and `reference` are owned: the pull log
/// takes them as they are, without a copy.)
pub async fn get(
    req: Req<'_>,
    token: &Arc<CachedToken>,
    name: RepositoryName,
    reference: Reference,
    with_body: bool,
) -> RegistryResult<Response> {
    let manifest = find(req, token, &name, &reference).await?;
    // A GET is a pull: a customer's goes in the pull log. (A HEAD is not:
    // clients send it to check what a tag points to, and the GET by digest
    // that follows is then logged with that tag.)
    // (Nothing is built for anyone else: a vendor's read costs the log nothing.)
    if pull_log::is_logged(&token.principal) {
        let pulls = &req.registry.pulls;
        let read = ManifestGet::now(token, name, reference, &manifest, req.client);
        if with_body {
            pulls.record_manifest_pull(read);
        } else {
            pulls.record_manifest_head(read);
        }
    }
    let body = if with_body {
        Body::from(manifest.content.clone())
    } else {
        Body::empty()
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, manifest.media_type.as_str())
        .header(header::CONTENT_LENGTH, manifest.content.len())
        .header("Docker-Content-Digest", manifest.digest.as_str())
        .header(header::ETAG, format!("\"{}\"", manifest.digest))
        .body(body)
        .map_err(|e| RegistryError::Internal(e.to_string()))
}

/// The manifest `token` may pull, from memory after the first read.
async fn find(
    req: Req<'_>,
    token: &Arc<CachedToken>,
    name: &RepositoryName,
    reference: &Reference,
) -> RegistryResult<Arc<CachedManifest>> {
    let pull = authorize_pull(req, &token.principal, name).await?;
    let org_id = pull.org_id;
    if let Reach::Granted(grant) = pull.reach(name) {
        let allowed = match reference {
            // A released grant (expired, keep-released) also needs to know
            // when the tag got the digest it points at.
            Reference::Tag(t) => match grant.by_name(t.as_str()) {
                Some(decided) => decided,
                None => repo_graph(req, org_id, name)
                    .await?
                    .graph()
                    .tag_allowed(grant, t.as_str()),
            },
            Reference::Digest(d) => allowed(req, org_id, name, grant)
                .await?
                .manifests
                .contains(d.as_str()),
        };
        if !allowed {
            return Err(RegistryError::ManifestUnknown);
        }
    }
    let cache = &req.registry.cache;
    let manifest = match cache.manifest(name.as_str(), reference.as_str()) {
        Some(m) => m,
        None => {
            let generation = cache.generation();
            let repo = existing_repo(req, org_id, name).await?;
            let found = match reference {
                Reference::Tag(t) => req.ctx.store.manifest_by_tag(repo.id, t.as_str()).await?,
                Reference::Digest(d) => {
                    req.ctx
                        .store
                        .manifest_by_digest(repo.id, d.as_str())
                        .await?
                }
            };
            let StoredManifest {
                digest,
                media_type,
                content,
            } = found.ok_or(RegistryError::ManifestUnknown)?;
            let m = Arc::new(CachedManifest::new(
                repo.id,
                digest,
                media_type,
                content.into(),
            ));
            cache.put_manifest(generation, name.as_str(), reference.as_str(), m.clone());
            m
        }
    };
    Ok(manifest)
}

fn descriptor_digest(d: &oci_spec::image::Descriptor) -> RegistryResult<String> {
    Digest::parse(d.digest().as_ref())
        .map(String::from)
        .map_err(|e| RegistryError::ManifestInvalid(format!("bad digest in manifest: {e}")))
}

/// Parses and checks a manifest body; `media_type` from the body or header.
fn parse(content: &[u8], header_type: Option<&str>, digest: String) -> RegistryResult<NewManifest> {
    let value: serde_json::Value = serde_json::from_slice(content)
        .map_err(|e| RegistryError::ManifestInvalid(format!("not JSON: {e}")))?;
    let body_type = value.get("mediaType").and_then(|m| m.as_str());
    let media_type = body_type
        .or(header_type)
        .ok_or_else(|| RegistryError::ManifestInvalid("mediaType is missing".into()))?
        .to_owned();
    if let (Some(b), Some(h)) = (body_type, header_type) {
        if b != h {
            return Err(RegistryError::ManifestInvalid(format!(
                "Content-Type {h} does not match mediaType {b}"
            )));
        }
    }
    let artifact_type = value
        .get("artifactType")
        .and_then(|a| a.as_str())
        .map(str::to_owned);
    let subject = match value.get("subject") {
        Some(s) => Some(
            s.get("digest")
                .and_then(|d| d.as_str())
                .and_then(|d| Digest::parse(d).ok())
                .ok_or_else(|| {
                    RegistryError::ManifestInvalid("subject has no valid digest".into())
                })?
                .to_string(),
        ),
        None => None,
    };
    let (refs, platforms, artifact_type, kind) = match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => {
            let index: ImageIndex = serde_json::from_value(value)
                .map_err(|e| RegistryError::ManifestInvalid(format!("invalid image index: {e}")))?;
            let mut refs = Vec::new();
            let mut platforms = Vec::new();
            for m in index.manifests() {
                refs.push(ManifestRef::Manifest(descriptor_digest(m)?));
                if let Some(pl) = m.platform() {
                    let mut s = format!("{}/{}", pl.os(), pl.architecture());
                    if let Some(v) = pl.variant() {
                        s.push('/');
                        s.push_str(v);
                    }
                    if !platforms.contains(&s) {
                        platforms.push(s);
                    }
                }
            }
            let kind = ArtifactKind::detect(&media_type, artifact_type.as_deref(), None, &[]);
            (refs, platforms, artifact_type, kind)
        }
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let manifest: ImageManifest = serde_json::from_value(value).map_err(|e| {
                RegistryError::ManifestInvalid(format!("invalid image manifest: {e}"))
            })?;
            let mut refs = vec![ManifestRef::Config(descriptor_digest(manifest.config())?)];
            for l in manifest.layers() {
                let digest = descriptor_digest(l)?;
                // A non-distributable layer is fetched from elsewhere (its
                // `urls`): recorded, but its blob need not be here.
                refs.push(if is_non_distributable(l.media_type().as_ref()) {
                    ManifestRef::NonDistributableLayer(digest)
                } else {
                    ManifestRef::Layer(digest)
                });
            }
            let config_type = manifest.config().media_type().to_string();
            let layer_types: Vec<String> = manifest
                .layers()
                .iter()
                .map(|l| l.media_type().to_string())
                .collect();
            let layer_refs: Vec<&str> = layer_types.iter().map(String::as_str).collect();
            let kind = ArtifactKind::detect(
                &media_type,
                artifact_type.as_deref(),
                Some(&config_type),
                &layer_refs,
            );
            // Per the spec, a referrer's artifact type is the manifest's
            // `artifactType`, else its config media type (whatever the kind:
            // filtering referrers by that type must find it).
            let artifact_type = artifact_type
                .filter(|t| !t.is_empty())
                .or_else(|| subject.is_some().then(|| config_type.clone()));
            (refs, vec![], artifact_type, kind)
        }
        other => {
            return Err(RegistryError::ManifestInvalid(format!(
                "unsupported manifest media type {other}"
            )))
        }
    };
    Ok(NewManifest {
        digest,
        media_type,
        artifact_type,
        content: content.to_vec(),
        subject,
        refs,
        platforms,
        kind,
    })
}

pub async fn put(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    reference: &Reference,
    body: Body,
) -> RegistryResult<Response> {
    let org_id = authorize(req, p, name, Need::Write).await?;
    let immutable = tags_immutable(req, name).await?;
    let content = axum::body::to_bytes(body, MAX_MANIFEST + 1)
        .await
        .map_err(|_| RegistryError::ManifestTooLarge)?;
    if content.len() > MAX_MANIFEST {
        return Err(RegistryError::ManifestTooLarge);
    }
    let header_type =
        header_str(req.headers, "content-type").map(|c| c.split(';').next().unwrap_or(c).trim());
    // Tags to point at the manifest: the reference if it is one, and any
    // `tag` query parameters (distribution-spec 1.1.1: a push by digest
    // may tag it with several tags at once; each is answered in `OCI-Tag`).
    let mut tags: Vec<Tag> = Vec::new();
    for (_, t) in req.query_pairs.iter().filter(|(k, _)| k == "tag") {
        let t = Tag::parse(t)?;
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let digest = match reference {
        Reference::Digest(d) => {
            let actual = Digest::compute(d.algorithm(), &content);
            if &actual != d {
                return Err(RegistryError::DigestInvalid(format!(
                    "manifest has digest {actual}, not {d}"
                )));
            }
            actual
        }
        Reference::Tag(t) => {
            if !tags.contains(t) {
                tags.insert(0, t.clone());
            }
            Digest::sha256_of(&content)
        }
    };
    let tag_names: Vec<&str> = tags.iter().map(Tag::as_str).collect();
    let subject = store(
        req.ctx,
        req.registry,
        org_id,
        name,
        &content,
        header_type,
        &digest,
        &tag_names,
        immutable,
    )
    .await?;
    let mut resp = (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{name}/manifests/{digest}")),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest.to_string(),
            ),
            (header::CONTENT_LENGTH, "0".to_owned()),
        ],
    )
        .into_response();
    if let Some(s) = subject {
        if let Ok(v) = s.parse() {
            resp.headers_mut().insert("OCI-Subject", v);
        }
    }
    if matches!(reference, Reference::Digest(_)) {
        for t in &tag_names {
            if let Ok(v) = t.parse() {
                resp.headers_mut().append("OCI-Tag", v);
            }
        }
    }
    Ok(resp)
}

/// Stores a manifest as a push does (parsed, kind detected, references
/// checked, `tags` moved to it with their history and change-feed rows, the
/// registry's caches of the repository evicted); returns its subject. The
/// manifest PUT and the mirror (`crate::mirror`) both store through here.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn store(
    ctx: &services::Services,
    registry: &super::Registry,
    org_id: domain::OrgId,
    name: &RepositoryName,
    content: &[u8],
    header_type: Option<&str>,
    digest: &Digest,
    tags: &[&str],
    immutable: bool,
) -> RegistryResult<Option<String>> {
    let manifest = parse(content, header_type, digest.to_string())?;
    let subject = manifest.subject.clone();
    let repo = ctx.store.ensure_repo(org_id, name.artifact()).await?;
    let stored = ctx
        .store
        .put_manifest(repo.id, manifest, tags, immutable)
        .await?;
    // Whatever changed, cached manifests of this repository are stale now.
    registry.cache.evict_repo(name.as_str());
    match stored {
        Ok(()) => Ok(subject),
        Err(PutManifestError::Missing(d)) => Err(RegistryError::ManifestBlobUnknown(d)),
        Err(PutManifestError::TagImmutable(t)) => Err(RegistryError::TagImmutable(t)),
    }
}

/// Whether the organization of `name` has immutable tags (read per push or
/// delete, so a change in Settings applies at once).
async fn tags_immutable(req: Req<'_>, name: &RepositoryName) -> RegistryResult<bool> {
    Ok(req
        .ctx
        .store
        .org_id_by_slug(name.org_slug())
        .await?
        .is_some_and(|(_, immutable)| immutable))
}

pub async fn delete(
    req: Req<'_>,
    p: &Principal,
    name: &RepositoryName,
    reference: &Reference,
) -> RegistryResult<Response> {
    let org_id = authorize(req, p, name, Need::Write).await?;
    let immutable = tags_immutable(req, name).await?;
    let repo = existing_repo(req, org_id, name).await?;
    // With immutable tags, a tag never moves: it cannot be deleted (and
    // pushed again elsewhere), nor can the manifest it points at. The spec
    // answers a disabled deletion with 405 (or 400); 405 UNSUPPORTED also
    // lets conformance tools and clients tell "disabled" from a failure.
    let deleted = match reference {
        Reference::Tag(t) if immutable => {
            return Err(RegistryError::DeleteDisabled(format!(
                "tags are immutable in organization {}: tag {t} cannot be deleted",
                name.org_slug()
            )))
        }
        Reference::Tag(t) => req.ctx.store.delete_tag(repo.id, t.as_str()).await?,
        Reference::Digest(d) => {
            match req
                .ctx
                .store
                .delete_manifest(repo.id, d.as_str(), immutable)
                .await?
            {
                DeleteManifest::Deleted => true,
                DeleteManifest::NotFound => false,
                DeleteManifest::Tagged => {
                    return Err(RegistryError::DeleteDisabled(format!(
                        "tags are immutable in organization {}: manifest {d} is tagged and cannot be deleted",
                        name.org_slug()
                    )))
                }
            }
        }
    };
    req.registry.cache.evict_repo(name.as_str());
    if deleted {
        Ok(StatusCode::ACCEPTED.into_response())
    } else {
        Err(RegistryError::ManifestUnknown)
    }
}
