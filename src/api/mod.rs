//! The JSON API under `/api/v1` (SPEC §8), authenticated by the session
//! cookie or `Authorization: Bearer <access token>`. Errors are
//! `{"error": {"code", "message", "fields"}}` with 400/401/403/404/409/422.
//! Handlers state who may call them with the `ApiCaller` methods.

use crate::auth;
use crate::server::AppState;
use app::ssr::SESSION_USER_KEY;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::entitlements::EntitlementInput;
use domain::store::StoreError;
use domain::{CustomerId, CustomerRole, DisplayName, Invitee, OrgId, Principal, UserId};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new()
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
        .route("/api/v1/artifacts", get(artifacts))
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
}

/// A JSON API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: BTreeMap<String, String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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
            "unauthenticated",
            "Sign in or send an access token.",
        )
    }
    fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You do not have permission to do that.",
        )
    }
    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }
    fn invalid(fields: BTreeMap<String, String>) -> Self {
        Self {
            fields,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "Some fields are invalid.",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if !self.fields.is_empty() {
            error["fields"] = json!(self.fields);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict { field, message } => ApiError {
                fields: BTreeMap::from([(field.to_owned(), message.clone())]),
                ..ApiError::new(StatusCode::CONFLICT, "conflict", message)
            },
            StoreError::Rejected(m) => ApiError::new(StatusCode::BAD_REQUEST, "rejected", m),
            StoreError::Invalid(fields) => ApiError::invalid(fields),
            StoreError::Internal(detail) => {
                tracing::error!(%detail, "api internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
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
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))
    }
}

/// Who is calling: a session or a bearer access token.
pub struct ApiCaller(pub Principal);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match auth::authenticate(&state.ctx, &parts.headers).await {
            Ok(Some(cached)) => return Ok(ApiCaller(cached.principal.clone())),
            Ok(None) => {}
            Err(auth::AuthError::Bad) => return Err(ApiError::unauthenticated()),
            Err(auth::AuthError::Internal(e)) => return Err(StoreError::Internal(e).into()),
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unauthenticated())?;
        let uid: Option<UserId> = session.get(SESSION_USER_KEY).await.ok().flatten();
        let uid = uid.ok_or_else(ApiError::unauthenticated)?;
        let principal = state
            .ctx
            .store
            .principal(uid)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(ApiCaller(principal))
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
}

/// `GET /api/v1/me` — anyone signed in.
async fn me(ApiCaller(p): ApiCaller) -> Json<Value> {
    Json(match p {
        Principal::Vendor {
            user_id,
            email,
            role,
            org_slug,
            org_name,
            ..
        } => json!({
            "id": user_id, "email": email, "kind": "vendor", "role": role,
            "org": {"slug": org_slug, "name": org_name},
        }),
        Principal::Customer {
            user_id,
            email,
            role,
            org_slug,
            org_name,
            customer_id,
            customer_name,
            ..
        } => json!({
            "id": user_id, "email": email, "kind": "customer", "role": role,
            "org": {"slug": org_slug, "name": org_name},
            "customer": {"id": customer_id, "name": customer_name},
        }),
    })
}

/// `GET /api/v1/tokens` — the caller's own tokens (never secrets).
async fn list_tokens(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"tokens": s.ctx.store.tokens(p.user_id()).await?}),
    ))
}

#[derive(Deserialize)]
struct NewToken {
    label: String,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/tokens` — a token for the caller; the secret is returned once.
async fn create_token(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    let token = s
        .ctx
        .store
        .create_token(p.user_id(), label.as_str(), &hash, body.expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"token": token, "secret": secret})),
    ))
}

/// `DELETE /api/v1/tokens/{id}` — revokes one of the caller's tokens.
async fn revoke_token(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
    Path(id): Path<i64>,
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

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
}

/// `GET /api/v1/customers?q=` — any vendor user.
async fn list_customers(
    State(s): State<AppState>,
    caller: ApiCaller,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.vendor()?;
    Ok(Json(
        json!({"customers": s.ctx.store.customers(org, &query.q).await?}),
    ))
}

#[derive(Deserialize)]
struct CustomerBody {
    name: String,
}

fn parse_name(name: &str) -> Result<DisplayName, ApiError> {
    DisplayName::parse(name).map_err(|e| ApiError::invalid(BTreeMap::from([("name".into(), e.0)])))
}

/// `POST /api/v1/customers` — vendor admins and read_write users.
async fn create_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<CustomerBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org = caller.vendor_writer()?;
    let customer = s
        .ctx
        .store
        .create_customer(org, parse_name(&body.name)?)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(customer))))
}

/// `GET /api/v1/customers/{id}` — any vendor user; with its users.
async fn get_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<CustomerId>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.vendor()?;
    let customer = s.ctx.store.customer(org, id).await?;
    let users = s.ctx.store.customer_users(org, id).await?;
    let mut v = json!(customer);
    v["users"] = json!(users);
    Ok(Json(v))
}

/// `PATCH /api/v1/customers/{id}` — rename; vendor admins and read_write users.
async fn update_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiJson(body): ApiJson<CustomerBody>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.vendor_writer()?;
    Ok(Json(json!(
        s.ctx
            .store
            .rename_customer(org, id, parse_name(&body.name)?)
            .await?
    )))
}

/// `DELETE /api/v1/customers/{id}` — with its users and their tokens.
async fn delete_customer(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<CustomerId>,
) -> Result<StatusCode, ApiError> {
    let org = caller.vendor_writer()?;
    for user in s.ctx.store.delete_customer(org, id).await? {
        s.ctx.tokens.invalidate_user(user);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct NewCustomerUser {
    email: String,
    #[serde(default)]
    password: Option<String>,
    role: String,
    /// Without a password: `true` creates a one-time set-password link.
    #[serde(default)]
    invite: bool,
}

/// `POST /api/v1/customers/{id}/users` — `{"email", "password", "role"}`,
/// or `{"email", "role", "invite": true}` for a one-time set-password link
/// (answered once, as `set_password_url`). Vendor admins and read_write users.
async fn add_customer_user(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiJson(body): ApiJson<NewCustomerUser>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    let added = domain::password_links::add_customer_user(&s.ctx.store, org, id, user).await?;
    let mut out = json!({"id": added.user_id, "email": email, "role": role});
    if let Some(link) = added.link {
        out["set_password_url"] = json!(s.ctx.set_password_url(&link.secret));
        out["set_password_expires_at"] = json!(link.expires_at);
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /api/v1/artifacts` — vendor users: the org's artifacts with their
/// tags; customer users: the visible ones (none until entitlements land).
async fn artifacts(
    State(s): State<AppState>,
    ApiCaller(p): ApiCaller,
) -> Result<Json<Value>, ApiError> {
    let Principal::Vendor { org_id, .. } = p else {
        return Ok(Json(json!({"artifacts": []})));
    };
    let mut out = Vec::new();
    for a in s.ctx.store.artifacts(org_id).await? {
        let tags = s
            .ctx
            .store
            .artifact_tags(org_id, &a.name)
            .await?
            .map(|(_, t)| t)
            .unwrap_or_default();
        let mut v = json!(a);
        v["tags"] = json!(tags);
        out.push(v);
    }
    Ok(Json(json!({"artifacts": out})))
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
            "plan",
            "Artifact Entitlements are a Pro feature. Upgrade to Pro (or start a trial) to create or change entitlements; existing ones are kept but not enforced meanwhile.",
        ))
    }
}

#[derive(Deserialize)]
struct EntitlementQuery {
    #[serde(default)]
    q: String,
}

/// `GET /api/v1/customers/{id}/entitlements?q=` — any vendor user; filters by
/// entitlement or artifact name.
async fn list_entitlements(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<CustomerId>,
    axum::extract::Query(query): axum::extract::Query<EntitlementQuery>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.vendor()?;
    let list: Vec<_> = s
        .ctx
        .store
        .entitlements(org, customer)
        .await?
        .into_iter()
        .filter(|e| e.matches(&query.q))
        .collect();
    Ok(Json(json!({ "entitlements": list })))
}

fn validate_entitlement(
    body: &EntitlementInput,
) -> Result<domain::entitlements::ValidEntitlement, ApiError> {
    body.validate().map_err(ApiError::invalid)
}

/// `POST /api/v1/customers/{id}/entitlements` — vendor admins and read_write users, Pro plans.
async fn create_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<CustomerId>,
    ApiJson(body): ApiJson<EntitlementInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org = caller.vendor_writer()?;
    require_entitlements_plan(&s, org).await?;
    let valid = validate_entitlement(&body)?;
    let saved = s
        .ctx
        .store
        .save_entitlement(org, customer, None, valid)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(saved))))
}

/// `GET /api/v1/entitlements/{id}` — any vendor user.
async fn get_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.vendor()?;
    Ok(Json(json!(s.ctx.store.entitlement(org, id).await?)))
}

/// `PUT /api/v1/entitlements/{id}` — replaces it; vendor admins and read_write users, Pro plans.
async fn update_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<EntitlementInput>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.vendor_writer()?;
    let current = s.ctx.store.entitlement(org, id).await?;
    require_entitlements_plan(&s, org).await?;
    let valid = validate_entitlement(&body)?;
    Ok(Json(json!(
        s.ctx
            .store
            .save_entitlement(org, current.customer_id, Some(id), valid)
            .await?
    )))
}

/// `DELETE /api/v1/entitlements/{id}` — vendor admins and read_write users, Pro plans.
async fn delete_entitlement(
    State(s): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let org = caller.vendor_writer()?;
    s.ctx.store.entitlement(org, id).await?;
    require_entitlements_plan(&s, org).await?;
    s.ctx.store.delete_entitlement(org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
