//! `GET /api/v1/artifacts`: what was pushed, as the caller may see it.

use super::{ApiCaller, ApiError};
use crate::server::AppState;
use axum::extract::State;
use axum::Json;
use domain::registry::{ArtifactSummary, TagInfo};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub(super) struct ArtifactList {
    artifacts: Vec<ArtifactWithTags>,
}

/// An artifact with its tags, newest first.
#[derive(Serialize, ToSchema)]
struct ArtifactWithTags {
    #[serde(flatten)]
    artifact: ArtifactSummary,
    tags: Vec<TagInfo>,
}

/// `GET /api/v1/artifacts` — vendor users: the org's artifacts with their
/// tags; customer users: the visible ones, each with its visible tags (SPEC §3).
#[utoipa::path(
    get,
    path = "/api/v1/artifacts",
    tag = "artifacts",
    responses(
        (status = 200, description = "Vendor users: all of the organization's artifacts; customer users: the visible ones, each with only its visible tags", body = ArtifactList),
    )
)]
pub(super) async fn artifacts(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
) -> Result<Json<ArtifactList>, ApiError> {
    let artifacts = s
        .ctx
        .visible_artifacts(&p)
        .await?
        .into_iter()
        .map(|(artifact, tags)| ArtifactWithTags { artifact, tags })
        .collect();
    Ok(Json(ArtifactList { artifacts }))
}
