//! Mirroring from an upstream registry (issue 14): the console's forms and
//! status. The password is taken, sealed by the use case and never sent
//! back: pages only learn whether credentials are set.

// The form's eight fields are the server function's arguments (the macro's
// browser-side function too, which an attribute on it does not reach).
#![allow(clippy::too_many_arguments)]

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, Need};
use domain::upstreams::Upstream;
use domain::UpstreamId;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An upstream and what the caller may do with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamView {
    pub upstream: Upstream,
    pub can_write: bool,
}

/// One upstream of the caller's org. Any vendor user.
#[server(endpoint = "get_upstream")]
pub async fn get_upstream(id: UpstreamId) -> Result<UpstreamView, AppError> {
    ssr::with_caller(async |services, me| {
        Ok(UpstreamView {
            upstream: services.upstream(me, id).await?,
            can_write: Need::Write.allows_principal(me),
        })
    })
    .await
}

/// An artifact's upstream, if it is mirrored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactMirror {
    pub upstream: Option<Upstream>,
    pub can_write: bool,
}

/// The upstream an artifact is mirrored from, if any. Any vendor user.
#[server(endpoint = "artifact_upstream")]
pub async fn artifact_upstream(artifact: String) -> Result<ArtifactMirror, AppError> {
    ssr::with_caller(async |services, me| {
        Ok(ArtifactMirror {
            upstream: services.upstream_of_artifact(me, &artifact).await?,
            can_write: Need::Write.allows_principal(me),
        })
    })
    .await
}

/// "Mirror from a registry": creates the upstream (and the artifact) and
/// opens its page, where the first sync shows. `tags` is empty or "all" for
/// every tag, else tag names separated by commas or spaces. Vendor admins
/// and read_write users.
#[server(endpoint = "create_upstream")]
pub async fn create_upstream(
    artifact: String,
    url: String,
    repository: String,
    username: Option<String>,
    password: Option<String>,
    tags: Option<String>,
    interval_minutes: Option<String>,
    mirror_deletions: Option<String>,
) -> Result<UpstreamId, AppError> {
    ssr::with_caller(async |services, me| {
        use domain::upstreams::{Secret, TagSelection, UpstreamInput};
        let tags = tags.unwrap_or_default();
        let tags = match tags.trim() {
            "" | "all" => TagSelection::All,
            list => TagSelection::List(
                list.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        };
        let interval = interval_minutes.unwrap_or_default();
        let interval_minutes = match interval.trim() {
            "" => domain::upstreams::DEFAULT_INTERVAL_MINUTES,
            n => n
                .parse::<i64>()
                .map_err(|_| AppError::field("interval_minutes", "Enter a number of minutes."))?,
        };
        let input = UpstreamInput {
            artifact,
            url,
            repository,
            username,
            password: password.filter(|p| !p.is_empty()).map(Secret),
            tags,
            interval_minutes,
            mirror_deletions: mirror_deletions.is_some_and(|m| !m.is_empty()),
        };
        let created = services.create_upstream(me, &input).await?;
        leptos_axum::redirect(&format!("/upstreams/{}", created.id));
        Ok(created.id)
    })
    .await
}

/// "Sync now". Vendor admins and read_write users.
#[server(endpoint = "sync_upstream")]
pub async fn sync_upstream(id: UpstreamId) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        services.sync_upstream(me, id).await?;
        if ssr::is_plain_form_post() {
            leptos_axum::redirect(&format!("/upstreams/{id}"));
        }
        Ok(())
    })
    .await
}

/// Stops mirroring (the artifact and its tags stay). Vendor admins and
/// read_write users.
#[server(endpoint = "delete_upstream")]
pub async fn delete_upstream(id: UpstreamId) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        let artifact = services.upstream(me, id).await?.artifact;
        services.delete_upstream(me, id).await?;
        leptos_axum::redirect(&format!("/artifacts/{artifact}"));
        Ok(())
    })
    .await
}
