//! The JSON API under `/api/v1` (SPEC §8), authenticated by the session
//! cookie or `Authorization: Bearer <access token>`. Errors are
//! `{"error": {"code", "message", "fields"}}` with 400/401/403/404/409/422
//! (and 503 `busy` with `Retry-After` when password hashing is saturated).
//! Handlers state who may call them with the `ApiCaller` methods.
//!
//! Each handler carries a `#[utoipa::path]` and its bodies are typed
//! (`ToSchema`), so `GET /api/v1/openapi.json` ([`openapi`]) is generated from
//! this code: a new route goes in `router()`, its `#[utoipa::path]` here and
//! its name in `openapi::ApiDoc`.

pub mod openapi;
mod pulls;

use crate::auth;
use crate::server::AppState;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::audit::{Actor, AuditEvent};
use domain::entitlements::{EntitlementInput, EntitlementView};
use domain::registry::{ArtifactSummary, TagInfo, TokenInfo};
use domain::store::StoreError;
use domain::{
    Customer, CustomerId, CustomerRole, CustomerSummary, CustomerUser, DisplayName, Invitee, OrgId,
    Principal, UserId, VendorRole,
};
use openapi::{
    BadRequest, Busy, Conflict, Forbidden, Internal, Invalid, NotFound, Unauthenticated,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tower_sessions::Session;
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route(
            "/api/v1/customers",
            get(list_customers).post(create_customer),
        )
        .route(
            "/api/v1/customers/{id}",
            get(get_customer)
                .patch(update_customer)
                .delete(delete_customer),
        )
        .route(
            "/api/v1/customers/{id}/users",
            axum::routing::post(add_customer_user),
        )
        .route("/api/v1/customers/{id}/audit", get(customer_audit))
        .route("/api/v1/artifacts", get(artifacts))
        .route("/api/v1/pulls", get(pulls::list_pulls))
        .route(
            "/api/v1/customers/{id}/entitlements",
            get(list_entitlements).post(create_entitlement),
        )
        .route(
            "/api/v1/entitlements/{id}",
            get(get_entitlement)
                .put(update_entitlement)
                .delete(delete_entitlement),
        )
        // Anything else under the API is a JSON 404, not the HTML page.
        .route("/api/v1", any(unknown_path))
        .route("/api/v1/", any(unknown_path))
        .route("/api/v1/{*rest}", any(unknown_path))
}

/// An unknown path under `/api/v1`.
async fn unknown_path() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "There is no such API path. See /api/v1/openapi.json.",
    )
}

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
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }
    fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "Sign in or send an access token.",
        )
    }
    fn forbidden() -> Self {
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
    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "Not found.")
    }
    fn invalid(fields: BTreeMap<String, String>) -> Self {
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

/// A JSON body, with malformed JSON answered as a 400 API error.
pub struct ApiJson<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| ApiJson(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    e.body_text(),
                )
            })
    }
}

/// A path parameter (`{id}`), with one of the wrong type (`/customers/abc`)
/// answered as a 400 API error rather than axum's plain text.
pub struct ApiPath<T>(T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    format!("The path is not valid: {}", e.body_text()),
                )
            })
    }
}

/// Who is calling: a session or a bearer access token.
pub struct ApiCaller(pub Principal);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CallerWithToken { principal, .. } =
            CallerWithToken::from_request_parts(parts, state).await?;
        Ok(ApiCaller(principal))
    }
}

/// The caller and, when it sent one, the access token it authenticated
/// with (`None`: the session cookie).
pub struct CallerWithToken {
    pub principal: Principal,
    pub token: Option<std::sync::Arc<domain::token_cache::CachedToken>>,
}

impl FromRequestParts<AppState> for CallerWithToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match auth::authenticate(&state.ctx, &parts.headers).await {
            Ok(Some(cached)) => {
                return Ok(CallerWithToken {
                    principal: cached.principal.clone(),
                    token: Some(cached),
                })
            }
            Ok(None) => {}
            Err(auth::AuthError::Bad) => return Err(ApiError::unauthenticated()),
            Err(auth::AuthError::Internal(e)) => return Err(StoreError::internal(e).into()),
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unauthenticated())?;
        let principal = app::ssr::session_principal(&*state.ctx.store, &session)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(CallerWithToken {
            principal,
            token: None,
        })
    }
}

impl ApiCaller {
    /// Any vendor user: its org.
    fn vendor(&self) -> Result<OrgId, ApiError> {
        match &self.0 {
            Principal::Vendor { org_id, .. } => Ok(*org_id),
            Principal::Customer { .. } => Err(ApiError::forbidden()),
        }
    }

    /// A vendor admin or read_write user: its org.
    fn vendor_writer(&self) -> Result<OrgId, ApiError> {
        match &self.0 {
            Principal::Vendor { org_id, role, .. } if role.can_write() => Ok(*org_id),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// The caller, as the audit trail records it.
    fn actor(&self) -> Actor {
        let (Principal::Vendor { user_id, email, .. } | Principal::Customer { user_id, email, .. }) =
            &self.0;
        Actor::user(*user_id, email.clone())
    }
}

/// The caller, as `GET /api/v1/me` shows it.
#[derive(Serialize, ToSchema)]
struct Me {
    #[schema(value_type = i64)]
    id: UserId,
    email: String,
    kind: CallerKind,
    role: CallerRole,
    org: CallerOrg,
    /// Customer users only (absent for vendor users).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    customer: Option<CallerCustomer>,
}

/// A vendor user (of the organization) or a customer user (of one of its customers).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum CallerKind {
    Vendor,
    Customer,
}

/// A vendor role for vendor users, a customer role for customer users.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum CallerRole {
    Vendor(VendorRole),
    Customer(CustomerRole),
}

/// The vendor organization.
#[derive(Serialize, ToSchema)]
struct CallerOrg {
    slug: String,
    name: String,
}

/// The customer a customer user belongs to.
#[derive(Serialize, ToSchema)]
struct CallerCustomer {
    #[schema(value_type = i64)]
    id: CustomerId,
    name: String,
}

/// `GET /api/v1/me` — anyone signed in.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "account",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, response = Unauthenticated),
        (status = 500, response = Internal),
    )
)]
async fn me(ApiCaller(p): ApiCaller) -> Json<Me> {
    Json(match p {
        Principal::Vendor {
            user_id,
            email,
            role,
            org_slug,
            org_name,
            ..
        } => Me {
            id: user_id,
            email,
            kind: CallerKind::Vendor,
            role: CallerRole::Vendor(role),
            org: CallerOrg {
                slug: org_slug,
                name: org_name,
            },
            customer: None,
        },
        Principal::Customer {
            user_id,
            email,
            role,
            org_slug,
            org_name,
            customer_id,
            customer_name,
            ..
        } => Me {
            id: user_id,
            email,
            kind: CallerKind::Customer,
            role: CallerRole::Customer(role),
            org: CallerOrg {
                slug: org_slug,
                name: org_name,
            },
            customer: Some(CallerCustomer {
                id: customer_id,
                name: customer_name,
            }),
        },
    })
}

#[derive(Serialize, ToSchema)]
struct TokenList {
    tokens: Vec<TokenInfo>,
}

/// `GET /api/v1/tokens` — the caller's own tokens (never secrets).
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "account",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The caller's access tokens (never their secrets)", body = TokenList),
        (status = 401, response = Unauthenticated),
        (status = 500, response = Internal),
    )
)]
async fn list_tokens(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
) -> Result<Json<TokenList>, ApiError> {
    Ok(Json(TokenList {
        tokens: s.ctx.store.tokens(p.user_id()).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct NewToken {
    /// 1–100 characters.
    label: String,
    /// In the future; none (the default) for a token that does not expire.
    /// With a bearer token, at most that token's expiry.
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

/// A new access token with its secret, shown only this once.
#[derive(Serialize, ToSchema)]
struct CreatedToken {
    token: TokenInfo,
    /// The access token (`pcl_…`): the registry password, or `Authorization: Bearer` here.
    secret: String,
}

/// `POST /api/v1/tokens` — a token for the caller; the secret is returned once.
/// A token created with `Authorization: Bearer` expires no later than that
/// token (a later or missing `expires_at` becomes its expiry) and is revoked
/// with it.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "account",
    security(("bearer" = []), ("session" = [])),
    request_body = NewToken,
    responses(
        (status = 201, description = "Created; the secret is returned only now", body = CreatedToken),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
    )
)]
async fn create_token(
    State(s): State<AppState>,
    caller: CallerWithToken,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let p = caller.principal;
    let mut fields = BTreeMap::new();
    let label = DisplayName::parse(&body.label)
        .map_err(|e| fields.insert("label".into(), e.0))
        .ok();
    if body.expires_at.is_some_and(|e| e <= Utc::now()) {
        fields.insert(
            "expires_at".into(),
            "The expiry must be in the future.".into(),
        );
    }
    let Some(label) = label.filter(|_| fields.is_empty()) else {
        return Err(ApiError::invalid(fields));
    };
    let (secret, hash) = domain::token_cache::new_token();
    let token = match caller.token {
        // Made with a token: it expires no later and is revoked with it.
        Some(parent) => s
            .ctx
            .store
            .create_child_token(parent.token_id, label.as_str(), &hash, body.expires_at)
            .await?
            .ok_or_else(ApiError::unauthenticated)?,
        None => {
            s.ctx
                .store
                .create_token(p.user_id(), label.as_str(), &hash, body.expires_at)
                .await?
        }
    };
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// `DELETE /api/v1/tokens/{id}` — revokes one of the caller's tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "account",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked; registry access with it ends at once"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    )
)]
async fn revoke_token(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let hash = s
        .ctx
        .store
        .revoke_token(p.user_id(), id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    s.ctx.tokens.remove(&hash);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Search text: part of the customer's name.
    #[serde(default)]
    q: String,
}

#[derive(Serialize, ToSchema)]
struct CustomerList {
    customers: Vec<CustomerSummary>,
}

/// `GET /api/v1/customers?q=` — any vendor user.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "customers",
    security(("bearer" = []), ("session" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The organization's customers", body = CustomerList),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
    )
)]
async fn list_customers(
    State(s): State<AppState>,
    caller: ApiCaller,
    pulls::ApiQuery(query): pulls::ApiQuery<ListQuery>,
) -> Result<Json<CustomerList>, ApiError> {
    let org = caller.vendor()?;
    Ok(Json(CustomerList {
        customers: s.ctx.store.customers(org, &query.q).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct CustomerBody {
    /// 1–100 characters, unique in the organization.
    name: String,
}

fn parse_name(name: &str) -> Result<DisplayName, ApiError> {
    DisplayName::parse(name).map_err(|e| ApiError::invalid(BTreeMap::from([("name".into(), e.0)])))
}

/// `POST /api/v1/customers` — vendor admins and read_write users.
#[utoipa::path(
    post,
    path = "/api/v1/customers",
    tag = "customers",
    security(("bearer" = []), ("session" = [])),
    request_body = CustomerBody,
    responses(
        (status = 201, description = "Created", body = Customer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
    )
)]
async fn create_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<CustomerBody>,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    let org = caller.vendor_writer()?;
    let customer = s
        .ctx
        .store
        .create_customer(org, parse_name(&body.name)?, &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

/// A customer's audit trail.
#[derive(Serialize, ToSchema)]
struct AuditTrail {
    events: Vec<AuditEvent>,
}

/// `GET /api/v1/customers/{id}/audit` — any vendor user: who changed the
/// customer, its users and its entitlements, when, with the state before
/// and after; newest first, the last 200.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/audit",
    tag = "customers",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer's audit trail, newest first", body = AuditTrail),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    )
)]
async fn customer_audit(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<AuditTrail>, ApiError> {
    let org = caller.vendor()?;
    s.ctx.store.customer(org, id).await?;
    Ok(Json(AuditTrail {
        events: s.ctx.store.audit_events(org, id, 200).await?,
    }))
}

/// A customer with its users.
#[derive(Serialize, ToSchema)]
struct CustomerDetail {
    #[serde(flatten)]
    customer: Customer,
    users: Vec<CustomerUser>,
}

/// `GET /api/v1/customers/{id}` — any vendor user; with its users.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer with its users", body = CustomerDetail),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    )
)]
async fn get_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<CustomerDetail>, ApiError> {
    let org = caller.vendor()?;
    let customer = s.ctx.store.customer(org, id).await?;
    let users = s.ctx.store.customer_users(org, id).await?;
    Ok(Json(CustomerDetail { customer, users }))
}

/// `PATCH /api/v1/customers/{id}` — rename; vendor admins and read_write users.
#[utoipa::path(
    patch,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Customer id")),
    request_body = CustomerBody,
    responses(
        (status = 200, description = "Renamed", body = Customer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
    )
)]
async fn update_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(body): ApiJson<CustomerBody>,
) -> Result<Json<Customer>, ApiError> {
    let org = caller.vendor_writer()?;
    Ok(Json(
        s.ctx
            .store
            .rename_customer(org, id, parse_name(&body.name)?, &caller.actor())
            .await?,
    ))
}

/// `DELETE /api/v1/customers/{id}` — with its users and their tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 204, description = "Deleted with its users, their tokens and its entitlements"),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    )
)]
async fn delete_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<StatusCode, ApiError> {
    let org = caller.vendor_writer()?;
    for user in s
        .ctx
        .store
        .delete_customer(org, id, &caller.actor())
        .await?
    {
        s.ctx.tokens.invalidate_user(user);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
struct NewCustomerUser {
    /// Unique across the installation (it is the registry user name).
    email: String,
    /// The initial password: 8–256 characters. Leave it out (or null) with
    /// `"invite": true` to get a one-time set-password link instead.
    #[serde(default)]
    password: Option<String>,
    #[schema(value_type = CustomerRole)]
    role: String,
    /// Without a password: `true` creates a one-time set-password link.
    #[serde(default)]
    invite: bool,
}

/// The customer user just added.
#[derive(Serialize, ToSchema)]
struct AddedCustomerUser {
    #[schema(value_type = i64)]
    id: UserId,
    email: String,
    role: CustomerRole,
    /// With `"invite": true`: the one-time link to send to the user (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    set_password_url: Option<String>,
    /// When that link stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    set_password_expires_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/customers/{id}/users` — `{"email", "password", "role"}`,
/// or `{"email", "role", "invite": true}` for a one-time set-password link
/// (answered once, as `set_password_url`). Vendor admins and read_write users.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/users",
    tag = "customers",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Customer id")),
    request_body = NewCustomerUser,
    responses(
        (status = 201, description = "Added", body = AddedCustomerUser),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
        (status = 503, response = Busy),
    )
)]
async fn add_customer_user(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(body): ApiJson<NewCustomerUser>,
) -> Result<(StatusCode, Json<AddedCustomerUser>), ApiError> {
    let org = caller.vendor_writer()?;
    if body.invite && body.password.is_some() {
        return Err(ApiError::invalid(BTreeMap::from([(
            "invite".into(),
            "Send either a password or \"invite\": true, not both.".into(),
        )])));
    }
    let user = Invitee::parse(
        &body.email,
        body.password.as_deref().unwrap_or_default(),
        body.invite,
        &body.role,
        CustomerRole::parse,
    )
    .map_err(ApiError::invalid)?;
    let (email, role) = (user.email.clone(), user.role);
    let added =
        domain::password_links::add_customer_user(&s.ctx.store, org, id, user, &caller.actor())
            .await?;
    let (set_password_url, set_password_expires_at) = match added.link {
        Some(link) => (
            Some(s.ctx.set_password_url(&link.secret)),
            Some(link.expires_at),
        ),
        None => (None, None),
    };
    Ok((
        StatusCode::CREATED,
        Json(AddedCustomerUser {
            id: added.user_id,
            email: email.into(),
            role,
            set_password_url,
            set_password_expires_at,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
struct ArtifactList {
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
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Vendor users: all of the organization's artifacts; customer users: the visible ones, each with only its visible tags", body = ArtifactList),
        (status = 401, response = Unauthenticated),
        (status = 500, response = Internal),
    )
)]
async fn artifacts(
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

/// Entitlement changes need a plan that includes them (SPEC §4): refused with
/// a clear error on community or an ended trial.
async fn require_entitlements_plan(s: &AppState, org: OrgId) -> Result<(), ApiError> {
    let org = s.ctx.store.org(org).await?;
    if org
        .plan
        .includes_entitlements(org.trial_ends_at, Utc::now())
    {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Plan,
            "Artifact Entitlements are a Pro feature. Upgrade to Pro (or start a trial) to create or change entitlements; existing ones are kept but not enforced meanwhile.",
        ))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EntitlementQuery {
    /// Search text: part of the entitlement's name or of one of its artifacts.
    #[serde(default)]
    q: String,
}

#[derive(Serialize, ToSchema)]
struct EntitlementList {
    entitlements: Vec<EntitlementView>,
}

/// `GET /api/v1/customers/{id}/entitlements?q=` — any vendor user; filters by
/// entitlement or artifact name.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/entitlements",
    tag = "entitlements",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Customer id"), EntitlementQuery),
    responses(
        (status = 200, description = "The customer's entitlements", body = EntitlementList),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    )
)]
async fn list_entitlements(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(customer): ApiPath<CustomerId>,
    axum::extract::Query(query): axum::extract::Query<EntitlementQuery>,
) -> Result<Json<EntitlementList>, ApiError> {
    let org = caller.vendor()?;
    let entitlements = s
        .ctx
        .store
        .entitlements(org, customer)
        .await?
        .into_iter()
        .filter(|e| e.matches(&query.q))
        .collect();
    Ok(Json(EntitlementList { entitlements }))
}

fn validate_entitlement(
    body: &EntitlementInput,
) -> Result<domain::entitlements::ValidEntitlement, ApiError> {
    body.validate().map_err(ApiError::invalid)
}

/// `POST /api/v1/customers/{id}/entitlements` — vendor admins and read_write users, Pro plans.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/entitlements",
    tag = "entitlements",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Customer id")),
    request_body = EntitlementInput,
    responses(
        (status = 201, description = "Created", body = EntitlementView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
    )
)]
async fn create_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(customer): ApiPath<CustomerId>,
    ApiJson(body): ApiJson<EntitlementInput>,
) -> Result<(StatusCode, Json<EntitlementView>), ApiError> {
    let org = caller.vendor_writer()?;
    require_entitlements_plan(&s, org).await?;
    let valid = validate_entitlement(&body)?;
    let saved = s
        .ctx
        .store
        .save_entitlement(org, customer, None, valid, &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `GET /api/v1/entitlements/{id}` — any vendor user.
#[utoipa::path(
    get,
    path = "/api/v1/entitlements/{id}",
    tag = "entitlements",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Entitlement id")),
    responses(
        (status = 200, description = "The entitlement", body = EntitlementView),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    )
)]
async fn get_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EntitlementView>, ApiError> {
    let org = caller.vendor()?;
    Ok(Json(s.ctx.store.entitlement(org, id).await?))
}

/// `PUT /api/v1/entitlements/{id}` — replaces it; vendor admins and read_write users, Pro plans.
#[utoipa::path(
    put,
    path = "/api/v1/entitlements/{id}",
    tag = "entitlements",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Entitlement id")),
    request_body = EntitlementInput,
    responses(
        (status = 200, description = "Replaced", body = EntitlementView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
    )
)]
async fn update_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EntitlementInput>,
) -> Result<Json<EntitlementView>, ApiError> {
    let org = caller.vendor_writer()?;
    let current = s.ctx.store.entitlement(org, id).await?;
    require_entitlements_plan(&s, org).await?;
    let valid = validate_entitlement(&body)?;
    Ok(Json(
        s.ctx
            .store
            .save_entitlement(org, current.customer_id, Some(id), valid, &caller.actor())
            .await?,
    ))
}

/// `DELETE /api/v1/entitlements/{id}` — vendor admins and read_write users, Pro plans.
#[utoipa::path(
    delete,
    path = "/api/v1/entitlements/{id}",
    tag = "entitlements",
    security(("bearer" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Entitlement id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    )
)]
async fn delete_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let org = caller.vendor_writer()?;
    s.ctx.store.entitlement(org, id).await?;
    require_entitlements_plan(&s, org).await?;
    s.ctx
        .store
        .delete_entitlement(org, id, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
