//! Registry data that crosses layers: artifact summaries, tags, tokens, and
//! what the store needs to record a manifest.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{ParseError, TokenId};

/// What an artifact is, detected from media types at push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    ContainerImage,
    HelmChart,
    Other,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::ContainerImage => "container-image",
            ArtifactKind::HelmChart => "helm-chart",
            ArtifactKind::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ArtifactKind::ContainerImage => "Container image",
            ArtifactKind::HelmChart => "Helm chart",
            ArtifactKind::Other => "OCI artifact",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "container-image" => Ok(Self::ContainerImage),
            "helm-chart" => Ok(Self::HelmChart),
            "other" => Ok(Self::Other),
            other => Err(ParseError(format!("unknown artifact kind {other}"))),
        }
    }

    /// The kind of an artifact from a manifest's media types: its config
    /// media type (or `artifactType`) and its layers' media types.
    pub fn detect(
        manifest_media_type: &str,
        artifact_type: Option<&str>,
        config_media_type: Option<&str>,
        layer_media_types: &[&str],
    ) -> Self {
        const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
        const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
        const IMAGE_CONFIGS: &[&str] = &[
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.docker.container.image.v1+json",
        ];
        const INDEXES: &[&str] = &[
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ];
        if config_media_type == Some(HELM_CONFIG)
            || artifact_type == Some(HELM_CONFIG)
            || layer_media_types.contains(&HELM_CHART)
        {
            return Self::HelmChart;
        }
        if artifact_type.is_none()
            && (config_media_type.is_some_and(|c| IMAGE_CONFIGS.contains(&c))
                || INDEXES.contains(&manifest_media_type))
        {
            return Self::ContainerImage;
        }
        Self::Other
    }
}

/// One artifact (repository) of an organization, for the Artifacts list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactSummary {
    /// Artifact name without the org slug (`charts/web`).
    pub name: String,
    pub kind: ArtifactKind,
    pub tag_count: i64,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_push: Option<DateTime<Utc>>,
    /// From the newest tag's manifest annotation
    /// `org.opencontainers.image.description` (for a customer: its newest
    /// visible tag); `null` when that tag has none.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub description: Option<String>,
}

/// A tag of an artifact, newest first in lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagInfo {
    pub tag: String,
    pub digest: String,
    pub size: i64,
    pub media_type: String,
    pub platforms: Vec<String>,
    pub pushed_at: DateTime<Utc>,
    /// The manifest's `org.opencontainers.image.description` annotation.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub description: Option<String>,
}

/// The annotation a description is read from (set by `docker buildx
/// --annotation`, `oras push --annotation`, and `helm push` from the
/// chart's description).
pub const DESCRIPTION_ANNOTATION: &str = "org.opencontainers.image.description";

/// The description in a manifest's annotations (a JSON object), if any
/// non-blank one.
pub fn description_of(annotations: &serde_json::Value) -> Option<String> {
    annotations
        .get(DESCRIPTION_ANNOTATION)
        .and_then(|d| d.as_str())
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
}

/// An access token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub id: TokenId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expires_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A new access token with its secret, shown only this once (never stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    pub token: TokenInfo,
    /// The access token (`pcl_…`): the registry password, or `Authorization: Bearer` here.
    pub secret: String,
}

/// Where a manifest points: what the store must check exists and record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRef {
    Config(String),
    Layer(String),
    /// A non-distributable ("foreign") layer: recorded like a layer, but its
    /// blob need not be in the registry (clients fetch it elsewhere).
    NonDistributableLayer(String),
    Manifest(String),
}

/// Layer media types whose blobs a registry does not have to hold: OCI's
/// (deprecated) non-distributable layers and Docker's foreign layers.
pub const NON_DISTRIBUTABLE_LAYERS: &[&str] = &[
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

/// Whether a layer of this media type may be absent from the registry.
pub fn is_non_distributable(media_type: &str) -> bool {
    NON_DISTRIBUTABLE_LAYERS.contains(&media_type)
}

/// A parsed, verified manifest ready to be stored.
#[derive(Debug, Clone)]
pub struct NewManifest {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub content: Vec<u8>,
    pub subject: Option<String>,
    pub refs: Vec<ManifestRef>,
    pub platforms: Vec<String>,
    pub kind: ArtifactKind,
}

/// A stored manifest.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    pub digest: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// A referrer of a manifest, as the referrers API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: i64,
    pub annotations: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let oci_manifest = "application/vnd.oci.image.manifest.v1+json";
        assert_eq!(
            ArtifactKind::detect(
                oci_manifest,
                None,
                Some("application/vnd.oci.image.config.v1+json"),
                &["application/vnd.oci.image.layer.v1.tar+gzip"]
            ),
            ArtifactKind::ContainerImage
        );
        assert_eq!(
            ArtifactKind::detect(
                oci_manifest,
                None,
                Some("application/vnd.cncf.helm.config.v1+json"),
                &["application/vnd.cncf.helm.chart.content.v1.tar+gzip"]
            ),
            ArtifactKind::HelmChart
        );
        assert_eq!(
            ArtifactKind::detect(
                oci_manifest,
                Some("application/vnd.acme.sbom"),
                Some("application/vnd.oci.empty.v1+json"),
                &["text/plain"]
            ),
            ArtifactKind::Other
        );
        assert_eq!(
            ArtifactKind::detect("application/vnd.oci.image.index.v1+json", None, None, &[]),
            ArtifactKind::ContainerImage
        );
        assert_eq!(
            ArtifactKind::parse("helm-chart").unwrap(),
            ArtifactKind::HelmChart
        );
    }

    #[test]
    fn descriptions_come_from_the_annotation() {
        let a = serde_json::json!({DESCRIPTION_ANNOTATION: "  The web tier ", "x": 1});
        assert_eq!(description_of(&a).as_deref(), Some("The web tier"));
        assert_eq!(
            description_of(&serde_json::json!({DESCRIPTION_ANNOTATION: " "})),
            None
        );
        assert_eq!(
            description_of(&serde_json::json!({DESCRIPTION_ANNOTATION: 3})),
            None
        );
        assert_eq!(description_of(&serde_json::json!(null)), None);
    }
}
