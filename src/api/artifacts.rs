//! `GET /api/v1/artifacts`: what was pushed, as the caller may see it, a page
//! at a time.

use super::endpoint::{next_link, page};
use super::openapi::{BadRequest, Invalid};
use super::{ApiCaller, ApiQuery};
use axum::Json;
use domain::paging::{ArtifactQuery, DEFAULT_LIMIT, DEFAULT_TAGS};
use domain::registry::{ArtifactSummary, TagInfo};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ArtifactsQuery {
    /// At most this many artifacts, 1–1000. Without it: at most 100, and
    /// fewer when they carry more than 1,000 tags together (a page ends
    /// before the artifact that would pass that; at least one artifact).
    limit: Option<i64>,
    /// Only artifacts after this name (the cursor): send the previous
    /// page's `next` link rather than building it.
    after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct ArtifactList {
    artifacts: Vec<ArtifactWithTags>,
    /// The next page (a path with its query, on this server), or `null` on
    /// the last page.
    #[schema(required = true)]
    next: Option<String>,
}

/// An artifact with its tags, newest first.
#[derive(Serialize, ToSchema)]
struct ArtifactWithTags {
    #[serde(flatten)]
    artifact: ArtifactSummary,
    tags: Vec<TagInfo>,
}

endpoint! {
    /// `GET /api/v1/artifacts?limit=&after=` — vendor users: the org's
    /// artifacts with their tags; customer users: the visible ones, each with its
    /// visible tags (SPEC §3). By name, a page at a time.
    get("/api/v1/artifacts", tag = "artifacts", params(ArtifactsQuery),
        responses((status = 200, description = "A page of the artifacts by name (vendor users: all of the organization's; customer users: the visible ones, each with only its visible tags) and the link to the next page", body = ArtifactList), BadRequest, Invalid))
    fn artifacts(s, ApiCaller(p): ApiCaller, ApiQuery(q): ApiQuery<ArtifactsQuery>) -> Json<ArtifactList> {
        let (limit, after) = page(q.limit, q.after, DEFAULT_LIMIT)?;
        let query = ArtifactQuery {
            after,
            limit,
            ..ArtifactQuery::default()
        };
        // Without a limit, a page is also cut by its tags (DEFAULT_TAGS).
        let max_tags = q.limit.is_none().then_some(DEFAULT_TAGS);
        let found = s.ctx.visible_artifacts_page(&p, query, max_tags).await?;
        let next = next_link("/api/v1/artifacts", &[], q.limit, found.next);
        let artifacts = found
            .items
            .into_iter()
            .map(|(artifact, tags)| ArtifactWithTags { artifact, tags })
            .collect();
        Ok(Json(ArtifactList { artifacts, next }))
    }
}
