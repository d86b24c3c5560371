//! Row types and conversions the SQL stores share (SQLite and PostgreSQL
//! decode the same columns into them: `sqlx::FromRow` is derived for any
//! database), and the few constants both backends' registry queries use.

use crate::registry::{ArtifactKind, ArtifactSummary, TagInfo, TokenInfo};
use crate::store::upstreams::{SealedSecret, UpstreamRecord};
use crate::store::StoreError;
use crate::upstreams::{CredentialsState, SyncProgress, TagSelection, Upstream, UpstreamState};
use crate::{OrgId, TokenId, UpstreamId};
use chrono::{DateTime, Utc};

#[derive(sqlx::FromRow)]
pub(in crate::store) struct TokenRow {
    pub(in crate::store) id: TokenId,
    pub(in crate::store) label: String,
    pub(in crate::store) created_at: DateTime<Utc>,
    pub(in crate::store) expires_at: Option<DateTime<Utc>>,
    pub(in crate::store) last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for TokenInfo {
    fn from(r: TokenRow) -> Self {
        TokenInfo {
            id: r.id,
            label: r.label,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(in crate::store) struct SummaryRow {
    pub(in crate::store) name: String,
    pub(in crate::store) kind: String,
    pub(in crate::store) tag_count: i64,
    pub(in crate::store) last_push: Option<DateTime<Utc>>,
    pub(in crate::store) annotations: Option<String>,
}

impl TryFrom<SummaryRow> for ArtifactSummary {
    type Error = StoreError;
    fn try_from(r: SummaryRow) -> Result<Self, StoreError> {
        Ok(ArtifactSummary {
            name: r.name,
            kind: ArtifactKind::parse(&r.kind).map_err(StoreError::internal)?,
            tag_count: r.tag_count,
            last_push: r.last_push,
            description: description(r.annotations.as_deref()),
        })
    }
}

/// A tag with its manifest, and the artifact it belongs to.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct TagRow {
    pub(in crate::store) artifact: String,
    pub(in crate::store) tag: String,
    pub(in crate::store) digest: String,
    pub(in crate::store) size: i64,
    pub(in crate::store) media_type: String,
    pub(in crate::store) platforms: Option<String>,
    pub(in crate::store) pushed_at: DateTime<Utc>,
    pub(in crate::store) content: Vec<u8>,
    pub(in crate::store) annotations: Option<String>,
}

impl From<TagRow> for TagInfo {
    fn from(r: TagRow) -> Self {
        TagInfo {
            tag: r.tag,
            digest: r.digest,
            // The artifact's size: manifest plus what it references.
            size: r.size + content_size(&r.content),
            media_type: r.media_type,
            platforms: r
                .platforms
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or_default(),
            pushed_at: r.pushed_at,
            description: description(r.annotations.as_deref()),
        }
    }
}

/// The description annotation of a manifest's stored annotations.
pub(in crate::store) fn description(annotations: Option<&str>) -> Option<String> {
    annotations
        .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
        .and_then(|a| crate::registry::description_of(&a))
}

/// The image manifest media types (OCI, Docker), which have a config.
pub(in crate::store) const IMAGE_MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The sum of the sizes a manifest lists (config, layers, child manifests).
pub(in crate::store) fn content_size(content: &[u8]) -> i64 {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(content) else {
        return 0;
    };
    let size = |d: &serde_json::Value| d.get("size").and_then(|s| s.as_i64()).unwrap_or(0);
    let mut total = v.get("config").map(size).unwrap_or(0);
    for key in ["layers", "manifests"] {
        if let Some(list) = v.get(key).and_then(|l| l.as_array()) {
            total += list.iter().map(size).sum::<i64>();
        }
    }
    total
}

// Upstreams (mirroring).

pub(in crate::store) const UPSTREAM_COLUMNS: &str =
    "id, org_id, artifact, url, repository, username, secret, tags, \
    interval_minutes, mirror_deletions, state, last_synced_at, last_error, tags_synced, \
    tags_total, tags_done, bytes_done, created_at";

#[derive(sqlx::FromRow)]
pub(in crate::store) struct UpstreamRow {
    pub(in crate::store) id: UpstreamId,
    pub(in crate::store) org_id: OrgId,
    pub(in crate::store) artifact: String,
    pub(in crate::store) url: String,
    pub(in crate::store) repository: String,
    pub(in crate::store) username: Option<String>,
    pub(in crate::store) secret: Option<String>,
    pub(in crate::store) tags: String,
    pub(in crate::store) interval_minutes: i64,
    pub(in crate::store) mirror_deletions: bool,
    pub(in crate::store) state: String,
    pub(in crate::store) last_synced_at: Option<DateTime<Utc>>,
    pub(in crate::store) last_error: Option<String>,
    pub(in crate::store) tags_synced: String,
    pub(in crate::store) tags_total: i64,
    pub(in crate::store) tags_done: i64,
    pub(in crate::store) bytes_done: i64,
    pub(in crate::store) created_at: DateTime<Utc>,
}

impl From<UpstreamRow> for UpstreamRecord {
    fn from(r: UpstreamRow) -> Self {
        UpstreamRecord {
            org_id: r.org_id,
            view: Upstream {
                id: r.id,
                artifact: r.artifact,
                url: r.url,
                repository: r.repository,
                username: r.username,
                credentials: if r.secret.is_some() {
                    CredentialsState::Set
                } else {
                    CredentialsState::NotSet
                },
                tags: TagSelection::from_json(&r.tags).unwrap_or(TagSelection::All),
                interval_minutes: r.interval_minutes,
                mirror_deletions: r.mirror_deletions,
                state: UpstreamState::parse(&r.state),
                last_synced_at: r.last_synced_at,
                last_error: r.last_error,
                tags_synced: serde_json::from_str(&r.tags_synced).unwrap_or_default(),
                progress: SyncProgress {
                    tags_done: r.tags_done,
                    tags_total: r.tags_total,
                    bytes: r.bytes_done,
                },
                created_at: r.created_at,
            },
            secret: r.secret.map(SealedSecret),
        }
    }
}

/// The audit event's picture of an upstream: its settings, never the secret.
pub(in crate::store) fn settings(u: &Upstream) -> serde_json::Value {
    serde_json::json!({
        "artifact": u.artifact,
        "url": u.url,
        "repository": u.repository,
        "username": u.username,
        "credentials": u.credentials,
        "tags": u.tags,
        "interval_minutes": u.interval_minutes,
        "mirror_deletions": u.mirror_deletions,
    })
}
