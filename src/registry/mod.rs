//! The OCI Distribution API under `/v2/`: one route, one path parser, one
//! error type. Each handler family lives in its own module; every request is
//! parsed, then authenticated, then authorized against the repository's
//! organization before any content is touched.

mod blobs;
pub mod cache;
mod error;
mod listing;
pub(crate) mod manifests;
pub mod path;
pub mod pull_log;
pub mod storage;
mod upload_id;
mod uploads;

pub use error::{RegistryError, RegistryResult};

use crate::auth::{self, AuthError};
use crate::server::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use cache::GraphEntry;
use domain::access::CustomerAccess;
use domain::oci::RepositoryName;
use domain::policy::{Allowed, TagGrant, Visibility};
use domain::store::{DynStore, Repo};
use domain::{OrgId, Principal};
use path::Endpoint;
use services::Services;
use std::collections::HashMap;
use std::sync::Arc;
use storage::BlobStorage;
use uploads::LocalUploads;

/// Registry state shared by the handlers.
pub struct Registry {
    pub storage: BlobStorage,
    /// This process's view of the uploads whose last chunk it took (or
    /// that it started), with their running digests (the sessions are in
    /// the database from their first chunk).
    pub uploads: LocalUploads,
    pub cache: cache::RegistryCache,
    /// Customers' manifest pulls, written to the database in batches.
    pub pulls: pull_log::PullLog,
}

impl Registry {
    pub fn new(storage: BlobStorage, pulls: pull_log::PullLog) -> Self {
        Self {
            storage,
            uploads: LocalUploads::default(),
            cache: cache::RegistryCache::default(),
            pulls,
        }
    }

    /// Starts the stale-upload sweeper (its first sweep runs now). Upload
    /// sessions survive a restart: nothing is cleared at start.
    pub fn start(self: &Arc<Self>, store: DynStore) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
            loop {
                tick.tick().await;
                me.sweep_uploads(&store, UPLOAD_IDLE).await;
            }
        });
    }

    /// Ends upload sessions idle for longer than `idle`, with their
    /// chunks, drops the tombstones of ended ones whose ids are stale, and
    /// deletes chunks that no open session names and that have not been
    /// written to for a day (an instance that died mid-chunk).
    pub async fn sweep_uploads(&self, store: &DynStore, idle: std::time::Duration) {
        self.uploads.forget_idle(idle);
        let before = chrono::Utc::now()
            - chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::hours(1));
        // A tombstone stays until its id is stale on every instance: an
        // hour after its start, on clocks up to a minute apart.
        let ended_before = chrono::Utc::now()
            - chrono::Duration::from_std(UPLOAD_IDLE + TOMBSTONE_GRACE)
                .unwrap_or(chrono::Duration::hours(2));
        match store.take_stale_uploads(before, ended_before).await {
            Ok(stale) => {
                for s in stale {
                    self.storage.discard(&s.id, &s.parts).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweeping upload sessions failed"),
        }
        // A chunk outlives its session only while the upload closing it
        // moves it into place: chunks a day old that no session names are
        // an instance's that died mid-chunk.
        let orphans = chrono::Utc::now() - chrono::Duration::days(1);
        let leftovers = self.storage.upload_objects_before(orphans).await;
        if leftovers.is_empty() {
            return;
        }
        let mut ids: Vec<String> = leftovers.iter().map(|(id, _)| id.clone()).collect();
        ids.sort();
        ids.dedup();
        let open: std::collections::HashSet<String> = match store.open_upload_ids(&ids).await {
            Ok(open) => open.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "sweeping upload chunks failed");
                return;
            }
        };
        for (id, path) in leftovers {
            if !open.contains(&id) {
                self.storage.delete_object(&path).await;
            }
        }
    }
}

/// An upload session untouched for this long is ended, and an upload id
/// started this long ago is stale.
pub const UPLOAD_IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

/// How long past [`UPLOAD_IDLE`] an ended session's tombstone is kept: more
/// than the clock skew an upload id's start may have (`upload_id.rs`).
const TOMBSTONE_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2", any(handle))
        .route("/v2/", any(handle))
        .route("/v2/{*rest}", any(handle))
}

async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    connect: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    body: Body,
) -> Response {
    let rest = uri.path().strip_prefix("/v2").unwrap_or("");
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    // The last value of a repeated parameter wins, except where a handler
    // reads them all (`tag` on a manifest PUT).
    let query: HashMap<String, String> = pairs.iter().cloned().collect();
    let req = Req {
        ctx: &state.ctx,
        registry: &state.registry,
        query: &query,
        query_pairs: &pairs,
        headers: &headers,
        client: connect.map(|Extension(ConnectInfo(addr))| addr.ip()),
    };
    let mut resp = match dispatch(req, method, rest, body).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    resp
}

/// What every handler gets.
#[derive(Clone, Copy)]
pub(crate) struct Req<'a> {
    pub ctx: &'a Services,
    pub registry: &'a Registry,
    pub query: &'a HashMap<String, String>,
    /// Every query parameter, in order, repeated ones included.
    pub query_pairs: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    /// The client's address: the TCP peer (a proxy's `X-Forwarded-For` is
    /// not trusted: any client could send one).
    pub client: Option<std::net::IpAddr>,
}

async fn dispatch(
    req: Req<'_>,
    method: Method,
    rest: &str,
    body: Body,
) -> RegistryResult<Response> {
    // Parse first: a bad name, tag or digest is answered before anything else.
    let endpoint = path::parse(rest)?;
    let cached = match auth::authenticate(req.ctx, req.headers).await {
        Ok(Some(c)) => c,
        Ok(None) | Err(AuthError::Bad) => return Err(RegistryError::Unauthorized),
        Err(AuthError::Internal(e)) => return Err(e.into()),
    };
    let p = &cached.principal;
    use Endpoint as E;
    match (endpoint, method) {
        (E::Base, Method::GET | Method::HEAD) => {
            Ok(axum::Json(serde_json::json!({})).into_response())
        }
        (E::Catalog, Method::GET) => listing::catalog(req, p).await,
        (E::Tags(name), Method::GET) => listing::tags(req, p, &name).await,
        (E::Referrers(name, d), Method::GET) => listing::referrers(req, p, &name, &d).await,
        (E::Manifest(name, r), Method::GET) => manifests::get(req, &cached, name, r, true).await,
        (E::Manifest(name, r), Method::HEAD) => manifests::get(req, &cached, name, r, false).await,
        (E::Manifest(name, r), Method::PUT) => manifests::put(req, p, &name, &r, body).await,
        (E::Manifest(name, r), Method::DELETE) => manifests::delete(req, p, &name, &r).await,
        (E::Blob(name, d), Method::GET) => blobs::get(req, p, &name, &d, true).await,
        (E::Blob(name, d), Method::HEAD) => blobs::get(req, p, &name, &d, false).await,
        (E::Blob(name, d), Method::DELETE) => blobs::delete(req, p, &name, &d).await,
        (E::UploadStart(name), Method::POST) => uploads::start(req, p, &name, body).await,
        (E::Upload(name, id), Method::PATCH) => uploads::patch(req, p, &name, &id, body).await,
        (E::Upload(name, id), Method::PUT) => uploads::put(req, p, &name, &id, body).await,
        (E::Upload(name, id), Method::GET) => uploads::status(req, p, &name, &id).await,
        (E::Upload(name, id), Method::DELETE) => uploads::cancel(req, p, &name, &id).await,
        _ => Err(RegistryError::MethodNotAllowed),
    }
}

/// What a request needs ([`services::authz`]): `Read` to pull, `Write` to
/// push or delete.
pub(crate) use services::authz::Need;

/// The org id of a slug, from memory after the first lookup.
async fn org_of(req: Req<'_>, slug: &str) -> RegistryResult<Option<OrgId>> {
    if let Some(id) = req.registry.cache.org(slug) {
        return Ok(Some(id));
    }
    let found = req.ctx.store.org_id_by_slug(slug).await?.map(|(id, _)| id);
    if let Some(id) = found {
        req.registry.cache.put_org(slug, id);
    }
    Ok(found)
}

/// The organization a repository name belongs to, if the principal's role
/// meets `need` there. Another org's repositories are answered as non-existent;
/// read-only users and customers who try to write are denied. A customer's
/// pull is further limited by [`authorize_pull`].
pub(crate) async fn authorize(
    req: Req<'_>,
    principal: &Principal,
    name: &RepositoryName,
    need: Need,
) -> RegistryResult<OrgId> {
    use services::authz::Refusal;
    // Pulls are for everyone of the org (a customer's is limited later).
    let refusal = match need {
        Need::Read => None,
        Need::Write | Need::Admin => services::authz::refusal(principal, need),
    };
    if refusal == Some(Refusal::Customer) {
        return Err(RegistryError::Denied(
            "customers cannot push or delete".into(),
        ));
    }
    let org_id = org_of(req, name.org_slug())
        .await?
        .ok_or(RegistryError::NameUnknown)?;
    if principal.org_id() != org_id {
        return Err(RegistryError::NameUnknown);
    }
    if refusal == Some(Refusal::Role) {
        return Err(RegistryError::Denied(
            "read-only users cannot push or delete".into(),
        ));
    }
    Ok(org_id)
}

/// What a principal may pull from one repository.
pub(crate) struct Pull {
    pub org_id: OrgId,
    /// `None`: everything in the repository (vendor users, and customers
    /// under rule 1). Otherwise the customer's compiled access (see
    /// [`Pull::grant`]).
    access: Option<Arc<CustomerAccess>>,
}

/// What a pull may reach in one repository: spelled out, so that no
/// caller can mistake "everything" for "not granted".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach<'a> {
    /// Every manifest and blob, tagged or not (vendor users; customers
    /// under rule 1).
    Everything,
    /// What the customer's grant on this artifact allows (tags, their
    /// history, children, referrers); [`NOTHING`](domain::policy::NOTHING) when it is not granted.
    Granted(&'a TagGrant),
}

impl Pull {
    /// What this pull may reach in `name`. Fails closed: an artifact the
    /// customer's entitlements do not name is `Granted(&NOTHING)`.
    pub fn reach(&self, name: &RepositoryName) -> Reach<'_> {
        match self.access.as_deref().map(|a| &a.visibility) {
            Some(v @ Visibility::Granted(_)) => Reach::Granted(v.grant(name.artifact())),
            Some(Visibility::Everything) | None => Reach::Everything,
        }
    }
}

/// SPEC §3 for a pull: vendor users pull anything of their org; a
/// customer's pull is decided by its compiled entitlements, from memory and
/// against the clock now. A repository the customer may not see is answered
/// exactly like one that does not exist.
pub(crate) async fn authorize_pull(
    req: Req<'_>,
    principal: &Principal,
    name: &RepositoryName,
) -> RegistryResult<Pull> {
    let org_id = authorize(req, principal, name, Need::Read).await?;
    let Principal::Customer { .. } = principal else {
        return Ok(Pull {
            org_id,
            access: None,
        });
    };
    let access = req.ctx.visibility(principal).await?;
    if !access.visibility.artifact_visible(name.artifact()) {
        return Err(RegistryError::NameUnknown);
    }
    let access = match access.visibility {
        Visibility::Everything => None,
        Visibility::Granted(_) => Some(access),
    };
    Ok(Pull { org_id, access })
}

/// The repository for a pull: authorized and existing, with what may be
/// pulled from it.
pub(crate) async fn pull_repo(
    req: Req<'_>,
    principal: &Principal,
    name: &RepositoryName,
) -> RegistryResult<(Repo, Pull)> {
    let pull = authorize_pull(req, principal, name).await?;
    let repo = existing_repo(req, pull.org_id, name).await?;
    Ok((repo, pull))
}

/// A repository's graph, from memory after the first load.
pub(crate) async fn repo_graph(
    req: Req<'_>,
    org_id: OrgId,
    name: &RepositoryName,
) -> RegistryResult<Arc<GraphEntry>> {
    let cache = &req.registry.cache;
    if let Some(g) = cache.graph(name.as_str()) {
        return Ok(g);
    }
    let generation = cache.generation();
    let repo = existing_repo(req, org_id, name).await?;
    let graph = req.ctx.store.repo_graph(repo.id).await?;
    Ok(cache.put_graph(generation, name.as_str(), graph))
}

/// The manifests and blobs `grant` allows in a repository, from memory.
pub(crate) async fn allowed(
    req: Req<'_>,
    org_id: OrgId,
    name: &RepositoryName,
    grant: &TagGrant,
) -> RegistryResult<Arc<Allowed>> {
    Ok(repo_graph(req, org_id, name).await?.allowed(grant))
}

/// The repository of an authorized org, or `NAME_UNKNOWN`.
pub(crate) async fn existing_repo(
    req: Req<'_>,
    org_id: OrgId,
    name: &RepositoryName,
) -> RegistryResult<Repo> {
    req.ctx
        .store
        .repo(org_id, name.artifact())
        .await?
        .ok_or(RegistryError::NameUnknown)
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::policy::EVERY_TAG;

    fn pull(visibility: Visibility) -> Pull {
        let mut access = CustomerAccess::everything(OrgId::from(1));
        access.visibility = visibility;
        Pull {
            org_id: OrgId::from(1),
            access: Some(Arc::new(access)),
        }
    }

    #[test]
    fn a_grant_fails_closed_for_an_artifact_not_granted() {
        let web = RepositoryName::parse("acme/web").unwrap();
        let api = RepositoryName::parse("acme/api").unwrap();
        let granted = pull(Visibility::Granted(HashMap::from([(
            "web".to_owned(),
            EVERY_TAG.clone(),
        )])));
        assert_eq!(granted.reach(&web), Reach::Granted(&EVERY_TAG));
        // Not granted: the empty grant, never "everything".
        let Reach::Granted(refused) = granted.reach(&api) else {
            panic!("an artifact not granted reaches everything");
        };
        assert!(!refused.covers("1.0"));
        // Rule 1 and vendor users: everything.
        assert_eq!(pull(Visibility::Everything).reach(&api), Reach::Everything);
        let vendor = Pull {
            org_id: OrgId::from(1),
            access: None,
        };
        assert_eq!(vendor.reach(&api), Reach::Everything);
    }
}
