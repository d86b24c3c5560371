//! The one error answer of the JSON API, `{"error": {"code", "message",
//! "fields"}}`, and how store errors become one.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::store::StoreError;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A JSON API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    fields: BTreeMap<String, String>,
}

/// What went wrong, for programs (the `message` is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not JSON of the expected shape.
    BadRequest,
    /// 400: the change is refused as a whole.
    Rejected,
    /// 401: no session cookie or access token, or a bad one.
    Unauthenticated,
    /// 403: the caller's role may not do this.
    Forbidden,
    /// 403: the organization's plan does not include this.
    Plan,
    /// 404: no such thing (or not visible to the caller).
    NotFound,
    /// 409: clashes with an existing thing; `fields` names the field.
    Conflict,
    /// 422: some fields are invalid; `fields` has a message for each.
    Invalid,
    /// 500: something went wrong on the server.
    Internal,
    /// 503: the server is busy (password hashing); retry after the
    /// `Retry-After` header's seconds.
    Busy,
}

/// The body of every error answer: `{"error": {"code", "message", "fields"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// A sentence to show to a person.
    pub message: String,
    /// A message per field (`name`, `artifacts[0].tags`, …); only with
    /// `invalid` and `conflict`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }
    /// 400: the request is not of the expected shape.
    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }
    pub(super) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "Sign in or send an access token.",
        )
    }
    pub(super) fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "You do not have permission to do that.",
        )
    }
    /// A state change refused as coming from another site (CSRF).
    pub(crate) fn cross_site(message: String) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }
    pub(super) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "Not found.")
    }
    pub(super) fn invalid(fields: BTreeMap<String, String>) -> Self {
        Self {
            fields,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::Invalid,
                "Some fields are invalid.",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                fields: self.fields,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.code == ErrorCode::Busy {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(domain::password::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

impl From<services::ServiceError> for ApiError {
    /// The one place a use case's refusal becomes the API's words.
    fn from(e: services::ServiceError) -> Self {
        use services::ServiceError as E;
        match e {
            E::Unauthenticated | E::BadCredentials => ApiError::unauthenticated(),
            E::Forbidden => ApiError::forbidden(),
            E::NotFound => ApiError::not_found(),
            E::Invalid(fields) => ApiError::invalid(fields),
            E::PlanRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::Plan,
                domain::Plan::ENTITLEMENTS_REQUIRED,
            ),
            // Not reachable from the API (sign-in and user management are
            // the console's); answered plainly all the same.
            E::TooManyAttempts { .. } | E::RemoveSelf | E::LinkInvalid => {
                ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::Rejected, e.to_string())
            }
            E::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        use domain::messages::Told;
        match domain::messages::store_error(&e) {
            Told::NotFound => ApiError::not_found(),
            Told::Conflict { field, message } => ApiError {
                fields: BTreeMap::from([(field.to_owned(), message.clone())]),
                ..ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
            },
            Told::Rejected(m) => ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::Rejected, m),
            Told::Invalid(fields) => ApiError::invalid(fields),
            Told::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Busy,
                "The server is busy. Please try again in a few seconds.",
            ),
            Told::Internal => {
                tracing::error!(detail = %e, "api internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "Something went wrong on our side.",
                )
            }
        }
    }
}
