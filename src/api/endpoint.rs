//! [`endpoint!`]: one `/api/v1` operation written once, its OpenAPI entry
//! beside its handler; and what many handlers answer alike (201, 204, the
//! paging of a list).

/// An operation of the JSON API: its `#[utoipa::path]` and its handler.
///
/// ```ignore
/// endpoint! {
///     /// `GET /api/v1/upstreams/{id}` — any vendor user: settings and sync state.
///     get("/api/v1/upstreams/{id}", tag = "upstreams", params(...),
///         responses((status = 200, description = "The upstream", body = Upstream), Forbidden, NotFound))
///     fn get_upstream(s, caller: ApiCaller, ApiPath(id): ApiPath<UpstreamId>) -> Json<Upstream> {
///         Ok(Json(s.ctx.upstream(&caller.0, id).await?))
///     }
/// }
/// ```
///
/// is the handler `pub(super) async fn get_upstream(State(s):
/// State<AppState>, caller: ApiCaller, ApiPath(id): ApiPath<UpstreamId>) ->
/// Result<Json<Upstream>, ApiError>` with `#[utoipa::path(get, path =
/// "/api/v1/upstreams/{id}", tag = "upstreams", params(...),
/// responses(...))]`: after the path, anything utoipa takes, with an error
/// answer named alone (`NotFound`: [`super::openapi`] gives each its
/// status). The doc comment is the operation's summary and description, as
/// with utoipa alone. `_` for the state when the handler needs none.
///
/// rustfmt leaves a macro's body as it is: lay a handler's body out as
/// rustfmt would, and keep helpers of its own in plain functions beside it.
macro_rules! endpoint {
    (
        $(#[$doc:meta])*
        $method:ident($path:literal $(, $($openapi:tt)*)?)
        fn $name:ident($state:pat_param $(, $($arg:tt)*)?) -> $answer:ty $body:block
    ) => {
        $(#[$doc])*
        #[utoipa::path($method, path = $path $(, $($openapi)*)?)]
        pub(super) async fn $name(
            axum::extract::State($state): axum::extract::State<crate::server::AppState>,
            $($($arg)*)?
        ) -> Result<$answer, super::ApiError> $body
    };
}

use super::ApiError;
use axum::http::StatusCode;
use axum::Json;
use domain::paging;
use services::{ServiceError, ServiceResult};

/// A 201 answer with what was created.
pub(super) type Created<T> = (StatusCode, Json<T>);

/// 201 with `value`.
pub(super) fn created<T>(value: T) -> Result<Created<T>, ApiError> {
    Ok((StatusCode::CREATED, Json(value)))
}

/// 204 once `done` succeeded (a deletion, a revocation).
pub(super) fn no_content<T>(done: ServiceResult<T>) -> Result<StatusCode, ApiError> {
    done?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page request's limit (`default` without one) and cursor, checked.
pub(super) fn page(
    limit: Option<i64>,
    after: Option<String>,
    default: i64,
) -> Result<(i64, Option<String>), ApiError> {
    Ok(paging::check(limit, after, default).map_err(ServiceError::from)?)
}

/// The link to the page after `after` (none on the last page): `path` with
/// `filters`, the limit as the caller gave it (left out when it gave none)
/// and the cursor.
pub(super) fn next_link(
    path: &str,
    filters: &[(&str, &str)],
    limit: Option<i64>,
    after: Option<String>,
) -> Option<String> {
    let limit = limit.map(|n| n.to_string()).unwrap_or_default();
    after.map(|after| {
        let mut params = filters.to_vec();
        params.extend([("limit", limit.as_str()), ("after", after.as_str())]);
        paging::link(path, &params)
    })
}
