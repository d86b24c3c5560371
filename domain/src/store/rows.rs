//! Row types and conversions the SQL stores share (SQLite and PostgreSQL
//! decode the same columns into them: `sqlx::FromRow` is derived for any
//! database), and the few constants both backends' registry queries use.

use crate::registry::{ArtifactKind, ArtifactSummary, TagInfo, TokenInfo};
use crate::store::StoreError;
use crate::TokenId;
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
