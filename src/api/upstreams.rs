//! `/api/v1/upstreams`: artifacts mirrored from the vendor's own registry
//! (SPEC §6, issue 14). No answer ever carries the stored password or
//! token: only `"credentials": "set" | "not set"`.

use super::openapi::{BadRequest, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiError, ApiJson, ApiPath};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::upstreams::{Upstream, UpstreamInput, UpstreamPatch};
use domain::UpstreamId;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub(super) struct UpstreamList {
    upstreams: Vec<Upstream>,
}

/// `GET /api/v1/upstreams` — any vendor user: the org's upstreams by artifact.
#[utoipa::path(
    get,
    path = "/api/v1/upstreams",
    tag = "upstreams",
    responses(
        (status = 200, description = "The organization's upstreams", body = UpstreamList),
        (status = 403, response = Forbidden),
    )
)]
pub(super) async fn list_upstreams(
    State(s): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<UpstreamList>, ApiError> {
    Ok(Json(UpstreamList {
        upstreams: s.ctx.upstreams(&caller.0).await?,
    }))
}

/// `POST /api/v1/upstreams` — vendor admins and read_write users: mirror
/// an artifact (created when it does not exist); the first sync starts at
/// once.
#[utoipa::path(
    post,
    path = "/api/v1/upstreams",
    tag = "upstreams",
    request_body = UpstreamInput,
    responses(
        (status = 201, description = "Created; the first sync is due", body = Upstream),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub(super) async fn create_upstream(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<UpstreamInput>,
) -> Result<(StatusCode, Json<Upstream>), ApiError> {
    let created = s.ctx.create_upstream(&caller.0, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/v1/upstreams/{id}` — any vendor user: settings and sync state.
#[utoipa::path(
    get,
    path = "/api/v1/upstreams/{id}",
    tag = "upstreams",
    params(("id" = i64, Path, description = "Upstream id")),
    responses(
        (status = 200, description = "The upstream", body = Upstream),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn get_upstream(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<UpstreamId>,
) -> Result<Json<Upstream>, ApiError> {
    Ok(Json(s.ctx.upstream(&caller.0, id).await?))
}

/// `PATCH /api/v1/upstreams/{id}` — vendor admins and read_write users.
/// Fields left out stay; `"password": null` removes the credentials.
#[utoipa::path(
    patch,
    path = "/api/v1/upstreams/{id}",
    tag = "upstreams",
    params(("id" = i64, Path, description = "Upstream id")),
    request_body = UpstreamPatch,
    responses(
        (status = 200, description = "Changed", body = Upstream),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub(super) async fn update_upstream(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<UpstreamId>,
    ApiJson(body): ApiJson<UpstreamPatch>,
) -> Result<Json<Upstream>, ApiError> {
    Ok(Json(s.ctx.update_upstream(&caller.0, id, &body).await?))
}

/// `DELETE /api/v1/upstreams/{id}` — vendor admins and read_write users:
/// stops mirroring; what was copied stays.
#[utoipa::path(
    delete,
    path = "/api/v1/upstreams/{id}",
    tag = "upstreams",
    params(("id" = i64, Path, description = "Upstream id")),
    responses(
        (status = 204, description = "Deleted; the artifact and its tags stay"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn delete_upstream(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<UpstreamId>,
) -> Result<StatusCode, ApiError> {
    s.ctx.delete_upstream(&caller.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/upstreams/{id}/sync` — vendor admins and read_write
/// users: sync now. Answers at once (202); `GET` the upstream for its
/// `state`.
#[utoipa::path(
    post,
    path = "/api/v1/upstreams/{id}/sync",
    tag = "upstreams",
    params(("id" = i64, Path, description = "Upstream id")),
    responses(
        (status = 202, description = "The sync is due now", body = Upstream),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn sync_upstream(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<UpstreamId>,
) -> Result<(StatusCode, Json<Upstream>), ApiError> {
    let u = s.ctx.sync_upstream(&caller.0, id).await?;
    Ok((StatusCode::ACCEPTED, Json(u)))
}
