//! `/api/v1/upstreams`: artifacts mirrored from the vendor's own registry
//! (SPEC §6, issue 14). No answer ever carries the stored password or
//! token: only `"credentials": "set" | "not set"`.

use super::endpoint::{created, no_content, Created};
use super::openapi::{BadRequest, Forbidden, Invalid, NotFound};
use super::{ApiCaller, ApiJson, ApiPath};
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

endpoint! {
    /// `GET /api/v1/upstreams` — any vendor user: the org's upstreams by artifact.
    get("/api/v1/upstreams", tag = "upstreams",
        responses((status = 200, description = "The organization's upstreams", body = UpstreamList), Forbidden))
    fn list_upstreams(s, caller: ApiCaller) -> Json<UpstreamList> {
        let upstreams = s.ctx.upstreams(&caller.0).await?;
        Ok(Json(UpstreamList { upstreams }))
    }
}

endpoint! {
    /// `POST /api/v1/upstreams` — vendor admins and read_write users: mirror
    /// an artifact (created when it does not exist); the first sync starts at
    /// once.
    post("/api/v1/upstreams", tag = "upstreams", request_body = UpstreamInput,
        responses((status = 201, description = "Created; the first sync is due", body = Upstream), BadRequest, Forbidden, Invalid))
    fn create_upstream(s, caller: ApiCaller, ApiJson(body): ApiJson<UpstreamInput>) -> Created<Upstream> {
        created(s.ctx.create_upstream(&caller.0, &body).await?)
    }
}

endpoint! {
    /// `GET /api/v1/upstreams/{id}` — any vendor user: settings and sync state.
    get("/api/v1/upstreams/{id}", tag = "upstreams", params(("id" = i64, Path, description = "Upstream id")),
        responses((status = 200, description = "The upstream", body = Upstream), Forbidden, NotFound))
    fn get_upstream(s, caller: ApiCaller, ApiPath(id): ApiPath<UpstreamId>) -> Json<Upstream> {
        Ok(Json(s.ctx.upstream(&caller.0, id).await?))
    }
}

endpoint! {
    /// `PATCH /api/v1/upstreams/{id}` — vendor admins and read_write users.
    /// Fields left out stay; `"password": null` removes the credentials.
    patch("/api/v1/upstreams/{id}", tag = "upstreams", params(("id" = i64, Path, description = "Upstream id")),
        request_body = UpstreamPatch,
        responses((status = 200, description = "Changed", body = Upstream), BadRequest, Forbidden, NotFound, Invalid))
    fn update_upstream(s, caller: ApiCaller, ApiPath(id): ApiPath<UpstreamId>, ApiJson(body): ApiJson<UpstreamPatch>) -> Json<Upstream> {
        Ok(Json(s.ctx.update_upstream(&caller.0, id, &body).await?))
    }
}

endpoint! {
    /// `DELETE /api/v1/upstreams/{id}` — vendor admins and read_write users:
    /// stops mirroring; what was copied stays.
    delete("/api/v1/upstreams/{id}", tag = "upstreams", params(("id" = i64, Path, description = "Upstream id")),
        responses((status = 204, description = "Deleted; the artifact and its tags stay"), Forbidden, NotFound))
    fn delete_upstream(s, caller: ApiCaller, ApiPath(id): ApiPath<UpstreamId>) -> StatusCode {
        no_content(s.ctx.delete_upstream(&caller.0, id).await)
    }
}

endpoint! {
    /// `POST /api/v1/upstreams/{id}/sync` — vendor admins and read_write
    /// users: sync now. Answers at once (202); `GET` the upstream for its
    /// `state`.
    post("/api/v1/upstreams/{id}/sync", tag = "upstreams", params(("id" = i64, Path, description = "Upstream id")),
        responses((status = 202, description = "The sync is due now", body = Upstream), Forbidden, NotFound))
    fn sync_upstream(s, caller: ApiCaller, ApiPath(id): ApiPath<UpstreamId>) -> (StatusCode, Json<Upstream>) {
        let u = s.ctx.sync_upstream(&caller.0, id).await?;
        Ok((StatusCode::ACCEPTED, Json(u)))
    }
}
