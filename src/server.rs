//! The HTTP server: one router for the UI, its server functions, live
//! updates (`/events`), static assets and health.

use crate::config::Config;
use crate::guard;
use crate::registry::pull_log::{self, PullLog};
use crate::registry::storage::{BlobStorage, StorageSpec};
use crate::registry::{self, Registry};
use crate::sessions::UserSessions;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use services::session::CallerSlot;
use services::{Services, Settings};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// What every handler shares: a handle, one reference count to clone (axum
/// clones the state for each request; the fields themselves hold a few
/// dozen reference counts and strings, which cost a registry request
/// several per cent of its time when they were cloned each time).
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
    /// The use cases (with the store and the caches).
    pub ctx: Services,
    /// Secrets just created by a plain form post, for the page it returns to.
    pub fresh_tokens: Arc<app::ssr::FreshTokens>,
    pub leptos_options: LeptosOptions,
    /// The browser bundle is the one compiled into the binary
    /// ([`crate::embedded`]), not `leptos_options.site_root` on disk.
    pub embedded_site: bool,
    pub registry: Arc<Registry>,
    /// Cancelled when the server shuts down: ends the live-update streams,
    /// which would otherwise keep graceful shutdown waiting.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// What the UI's edge checks (cross-site requests against the public URL).
    pub edge: Arc<crate::edge::Edge>,
    /// Whom each page is for, from the UI's route tree: the page guard's map.
    pub pages: guard::PageAreas,
    /// Request counts and timings for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "portcullis_session";

/// The session layer: cookie `portcullis_session`, HttpOnly, SameSite=Lax,
/// Secure when the public URL is https, stored in the database with the
/// user each session signs in ([`crate::sessions`]).
pub type Sessions = SessionManagerLayer<UserSessions>;

/// Everything `build_router` needs, opened from the configuration.
pub struct Prepared {
    pub state: AppState,
    pub sessions: Sessions,
    pub session_store: UserSessions,
    /// PostgreSQL: the pool the change feed's LISTEN connection comes from.
    pub listen: Option<sqlx::PgPool>,
}

pub async fn prepare(config: &Config) -> anyhow::Result<Prepared> {
    let (store, pool) = config.open_store().await?;
    let listen = match &pool {
        crate::config::sqlx_pool::Pool::Postgres(pool) => Some(pool.clone()),
        crate::config::sqlx_pool::Pool::Sqlite(_) => None,
    };
    let session_store = UserSessions::new(pool)?;
    session_store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("session store migration: {e}"))?;
    let sessions = SessionManagerLayer::new(session_store.clone())
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::days(7)));
    // An embedded bundle's files carry its content hash in their names: the
    // page's <link>/<script> tags (app::shell, HydrationScripts) are made
    // from the output name.
    let embedded_site = config.embedded_site();
    let output_name = match embedded_site {
        true => crate::embedded::output_name().unwrap_or_else(|| "portcullis".into()),
        false => "portcullis".into(),
    };
    let leptos_options = LeptosOptions::builder()
        .output_name(output_name)
        .site_root(config.site_root().to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .build();
    domain::password::warm_up();
    // Whoever reaches a fresh server first creates the organization: over
    // the network, only with a one-time code from the log (as Jenkins does).
    let setup_code = if config.listen.ip().is_loopback() || store.has_orgs().await? {
        None
    } else {
        Some(Arc::from(services::setup::new_setup_code()))
    };
    let mut ctx = Services::new(
        store,
        Settings {
            public_url: config.public_url(),
            setup_code,
        },
    );
    // Upstream mirroring: the credentials key (PORTCULLIS_SECRET_KEY or a
    // key file made in the data directory) and the allowed addresses.
    ctx.upstreams = Arc::new(
        services::upstreams::UpstreamSettings::from_env(&config.data_dir)
            .map_err(|e| anyhow::anyhow!("upstream credentials key: {e}"))?,
    );
    let spec = StorageSpec::parse(config.storage.as_deref())?;
    let storage = BlobStorage::open(&spec, &config.data_dir)
        .map_err(|e| anyhow::anyhow!("blob storage ({spec:?}): {e}"))?;
    tracing::info!(storage = %storage.label(), "blob storage");
    let pulls = PullLog::spawn(ctx.store.clone(), pull_log::Settings::default());
    let registry = Arc::new(Registry::new(storage, pulls));
    // A repository's content changed (here or on another instance, through
    // the change feed): its cached manifests and graph go.
    let cache = registry.clone();
    ctx.store
        .change_hub()
        .listen(move |change| cache.cache.apply(change));
    Ok(Prepared {
        state: AppState(Arc::new(SharedState {
            ctx,
            fresh_tokens: Arc::default(),
            leptos_options,
            embedded_site,
            registry,
            shutdown: tokio_util::sync::CancellationToken::new(),
            edge: crate::edge::Edge::for_ui(
                &config.public_url(),
                config.public_url.is_some(),
                server_fn_refusal,
            ),
            pages: app::routes::area,
            metrics: Arc::new(crate::metrics::Metrics::new(config.metrics_token.clone())),
        })),
        sessions,
        session_store,
        listen,
    })
}

/// A server function refused by the edge, in the UI's error format: JSON
/// for an island's call (server_fn decodes it and the form shows its
/// message), plain text for a form post (public/router.js shows it at the
/// top of the form; without JavaScript the browser shows the text).
fn server_fn_refusal(status: StatusCode, refusal: crate::edge::Refusal, html: bool) -> Response {
    use crate::edge::Refusal;
    use app::server_fns::AppError;
    let error = match refusal {
        Refusal::CrossSite(message) => AppError::Refused(message),
        Refusal::TooLarge => AppError::TooLarge,
        Refusal::Unreadable => AppError::Transport("the request body could not be read".into()),
    };
    if html {
        let text = format!("{error}\n");
        return (
            status,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            text,
        )
            .into_response();
    }
    (status, Json(error)).into_response()
}

/// The app's page routes, generated once per process.
///
/// Generating them runs the whole app with resource loading suppressed by a
/// process-wide flag (leptos_server's `SuppressResourceLoad`): a page
/// resource that first runs meanwhile, in any server of the process, waits
/// forever (leptos-rs/leptos#4773). Once, before any server serves, no page
/// is rendering; several servers in one process (the in-process test
/// servers) then share the list instead of generating it while another
/// renders.
pub fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// The whole application router.
pub fn build_router(state: AppState, sessions: Sessions) -> Router {
    let routes = page_routes();
    let (services, fresh) = (state.ctx.clone(), state.fresh_tokens.clone());
    let provide = move || {
        provide_context(services.clone());
        provide_context(fresh.clone());
        crate::edge::provide_nonce();
    };
    let options = state.leptos_options.clone();
    let edge = state.edge.clone();
    // The page guard stands in front of whatever renders the app: the pages
    // (with the server functions, registered alongside) and, for an address
    // that is neither a route nor a static file, the not-found page.
    let guard = axum::middleware::from_fn_with_state(state.clone(), guard::pages);
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, provide.clone(), move || {
            app::shell(options.clone())
        })
        .route_layer(guard.clone());
    let not_found = Router::new()
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide.clone(), app::shell))
        .layer(guard.clone())
        .with_state(state.clone());
    // Static files: the bundle compiled into the binary, or the site root on
    // disk (development, `--site-root`).
    let files = if state.embedded_site {
        let options = state.leptos_options.clone();
        let page = leptos_axum::render_app_to_stream_in_order_with_context(provide, move || {
            app::shell(options.clone())
        });
        let not_found = Router::<()>::new()
            .fallback(move |req: axum::extract::Request| page(req))
            .layer(guard);
        Router::<()>::new().fallback(move |req: axum::extract::Request| {
            let not_found = not_found.clone();
            async move {
                match crate::embedded::respond(&req) {
                    Some(res) => res,
                    None => tower::ServiceExt::oneshot(not_found, req)
                        .await
                        .into_response(),
                }
            }
        })
    } else {
        Router::<()>::new().fallback_service(
            ServeDir::new(&*state.leptos_options.site_root)
                .precompressed_gzip()
                .precompressed_br()
                .append_index_html_on_directories(false)
                .call_fallback_on_method_not_allowed(true)
                .fallback(not_found),
        )
    };
    // The UI (pages, server functions, assets) runs behind sessions, and
    // behind the edge (security headers, cross-site refusal, the
    // server-function body limit); the registry authenticates each request
    // itself.
    Router::new()
        .route("/healthz", get(crate::metrics::healthz))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/events", get(crate::live::events))
        .merge(crate::api::router())
        .merge(pages)
        .fallback_service(files)
        .layer(sessions)
        .layer(axum::middleware::from_fn(caller_slot))
        .layer(axum::middleware::from_fn_with_state(
            edge,
            crate::edge::guard,
        ))
        .layer(axum::middleware::from_fn(crate::edge::headers))
        .merge(registry::router())
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// Gives each UI and API request an empty [`CallerSlot`]: its caller is
/// looked up once, by whichever part asks first (page guard, server
/// functions, the API's cookie check, `/events`).
async fn caller_slot(mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    req.extensions_mut().insert(CallerSlot::default());
    next.run(req).await
}

/// The request's span, as tower-http's default (debug level) but with the
/// secret of a set-password link left out of the logged path.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let uri = req.uri();
    let shown = if uri.path().starts_with("/set-password/") {
        "/set-password/<redacted>".to_owned()
    } else {
        uri.to_string()
    };
    // The target tower-http uses, so `tower_http=debug` still shows it.
    tracing::debug_span!(target: "tower_http::trace::make_span", "request", method = %req.method(), uri = %shown, version = ?req.version())
}

/// Runs the server until SIGINT/SIGTERM, then drains in-flight requests.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    serve_on(listener, config, shutdown_signal()).await
}

/// Serves on `listener` (already bound) until `shutdown` completes, then
/// stops gracefully: [`serve`] with SIGTERM or Ctrl-C as the shutdown; the
/// integration tests' in-process servers with their own.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    mut config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    if config.public_url.is_none() && config.listen.port() == 0 {
        // The system chose the port: pull commands must show that one.
        config.listen = addr;
    }
    let prepared = prepare(&config).await?;
    let site_root = prepared.state.leptos_options.site_root.clone();
    if prepared.state.embedded_site {
        tracing::info!(
            bundle = %prepared.state.leptos_options.output_name,
            "serving the browser bundle embedded in the binary"
        );
    } else if !std::path::Path::new(&*site_root).join("pkg").is_dir() {
        tracing::warn!(%site_root, "browser assets not found; pages will not hydrate (build with `./scripts/run`)");
    }
    // Expired sessions are deleted in the background.
    let cleanup = tokio::spawn(
        tower_sessions::session_store::ExpiredDeletion::continuously_delete_expired(
            prepared.session_store.clone(),
            tokio::time::Duration::from_secs(3600),
        ),
    );
    prepared
        .state
        .registry
        .start(prepared.state.ctx.store.clone());
    let changes =
        crate::changes::spawn_poller(prepared.state.ctx.store.clone(), prepared.listen.clone())
            .await?;
    let last_use =
        crate::auth::spawn_last_use_writer(prepared.state.ctx.clone(), Duration::from_secs(10));
    let registry = prepared.state.registry.clone();
    let streams = prepared.state.shutdown.clone();
    let mirror = crate::mirror::spawn(
        prepared.state.ctx.clone(),
        registry.clone(),
        streams.clone(),
    );
    let prepared_setup_code = prepared.state.ctx.setup_code.clone();
    let router = build_router(prepared.state, prepared.sessions);
    tracing::info!(%addr, public_url = %config.public_url(), "portcullis listening");
    if let Some(code) = &prepared_setup_code {
        tracing::warn!(
            "No organization exists and {addr} is not a loopback address: the first-run page at {} asks for this one-time set-up code: {code}",
            config.public_url()
        );
    }
    println!("Portcullis is listening on http://{addr}");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        streams.cancel();
    })
    .await?;
    // Requests are done: pulls still in memory go to the database.
    registry.pulls.flush().await;
    cleanup.abort();
    last_use.abort();
    mirror.abort();
    changes.stop().await;
    tracing::info!("portcullis stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route of the app is in an area of the page guard: none is left
    /// unguarded (a path no route claims fails closed in the guard).
    #[test]
    fn every_route_is_classified() {
        let routes = page_routes();
        assert!(routes.len() >= 14, "{} routes", routes.len());
        for route in routes {
            // A concrete address of the route: "{id}" and "{*name}" filled in.
            let concrete: String = route
                .path()
                .split('/')
                .map(|segment| match segment.strip_prefix('{') {
                    Some(param) if param.starts_with('*') => "a/b",
                    Some(_) => "7",
                    None => segment,
                })
                .collect::<Vec<_>>()
                .join("/");
            assert!(
                app::routes::area(&concrete).is_some(),
                "{} ({concrete}) is in no area",
                route.path()
            );
        }
    }

    #[test]
    fn areas_come_from_the_route_tree() {
        use app::routes::area;
        use domain::pages::Area;
        assert_eq!(area("/"), Some(Area::FirstRun));
        assert_eq!(area("/signin?next=/settings"), Some(Area::SignIn));
        assert_eq!(area("/settings"), Some(Area::Console));
        assert_eq!(area("/settings/"), Some(Area::Console));
        assert_eq!(area("/licenses/3"), Some(Area::Console));
        assert_eq!(area("/licenses/3/entitlements/new"), Some(Area::Console));
        assert_eq!(area("/artifacts"), Some(Area::Console));
        assert_eq!(area("/artifacts/charts/web"), Some(Area::Console));
        // As the router reads the target: dot segments resolved.
        assert_eq!(area("/x/../settings"), Some(Area::Console));
        assert_eq!(area("/settingsx"), None);
        assert_eq!(area("/licenses/3/reports"), None);
        assert_eq!(area("/portal"), Some(Area::Portal));
        assert_eq!(area("/portal/tokens"), Some(Area::Portal));
        assert_eq!(area("/portal/artifacts/charts/web"), Some(Area::Portal));
        assert_eq!(area("/pkg/portcullis.js"), None);
        // Public: the one-time link is the key.
        assert_eq!(area("/set-password/abc"), Some(Area::Public));
    }
}
