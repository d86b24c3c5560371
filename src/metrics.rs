//! Operations: `GET /metrics` (the Prometheus text format) and the request
//! counting behind it; `GET /healthz` (database and storage).
//!
//! Who may read `/metrics`: anyone who reaches the server, unless
//! `PORTCULLIS_METRICS_TOKEN` is set, then only with `Authorization: Bearer
//! <that token>`. What it shows is counts and timings by route family and
//! status class, cache and pool figures and the change-feed position of
//! each instance (a random id per process): no names of orgs, repositories,
//! users or tokens, no addresses, nothing secret.

use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Latency buckets, in seconds (`le`).
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The route families, in the order their counters are kept.
const FAMILIES: [&str; 13] = [
    "registry_base",
    "registry_upload",
    "registry_manifest_pull",
    "registry_manifest_push",
    "registry_blob",
    "registry_list",
    "registry_other",
    "ops",
    "events",
    "api",
    "server_fn",
    "static",
    "page",
];

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// One (family, status class): counters only, no lock on the request path.
#[derive(Debug, Default)]
struct Series {
    count: AtomicU64,
    /// Microseconds.
    sum: AtomicU64,
    /// Per bucket (not cumulative; summed when rendered).
    buckets: [AtomicU64; BUCKETS.len()],
}

/// What the server counts per request.
pub struct Metrics {
    /// By family (outer) and status class.
    requests: Vec<Series>,
    /// Successful manifest and blob GETs.
    manifest_pulls: AtomicU64,
    blob_pulls: AtomicU64,
    /// `PORTCULLIS_METRICS_TOKEN`: when set, `/metrics` wants it.
    token: Option<String>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new(token: Option<String>) -> Self {
        Self {
            requests: (0..FAMILIES.len() * CLASSES.len())
                .map(|_| Series::default())
                .collect(),
            manifest_pulls: AtomicU64::new(0),
            blob_pulls: AtomicU64::new(0),
            token: token.filter(|t| !t.is_empty()),
        }
    }

    fn record(&self, family: &'static str, status: StatusCode, seconds: f64) {
        let f = FAMILIES.iter().position(|x| *x == family).unwrap_or(0);
        let s = &self.requests[f * CLASSES.len() + status_class(status)];
        s.count.fetch_add(1, Ordering::Relaxed);
        s.sum.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            s.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether the request may read `/metrics`.
    fn allowed(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        constant_time_eq(given.as_bytes(), token.as_bytes())
    }

    /// The series that counted something, with their labels.
    fn series(&self) -> impl Iterator<Item = (String, &Series)> {
        self.requests
            .iter()
            .enumerate()
            .filter(|(_, s)| s.count.load(Ordering::Relaxed) > 0)
            .map(|(i, s)| {
                let (family, class) = (FAMILIES[i / CLASSES.len()], CLASSES[i % CLASSES.len()]);
                (format!("family=\"{family}\",status=\"{class}\""), s)
            })
    }

    fn render_requests(&self, out: &mut String) {
        out.push_str("# HELP portcullis_http_requests_total HTTP requests by route family and status class.\n");
        out.push_str("# TYPE portcullis_http_requests_total counter\n");
        for (labels, s) in self.series() {
            let _ = writeln!(
                out,
                "portcullis_http_requests_total{{{labels}}} {}",
                s.count.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP portcullis_http_request_duration_seconds Time to the response head, by route family and status class.\n");
        out.push_str("# TYPE portcullis_http_request_duration_seconds histogram\n");
        for (labels, s) in self.series() {
            let count = s.count.load(Ordering::Relaxed);
            let mut cumulative = 0;
            for (b, n) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "portcullis_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    cumulative.min(count)
                );
            }
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        out.push_str("# HELP portcullis_registry_pulls_total Successful registry GETs of manifests and blobs.\n");
        out.push_str("# TYPE portcullis_registry_pulls_total counter\n");
        for (kind, n) in [
            ("manifest", &self.manifest_pulls),
            ("blob", &self.blob_pulls),
        ] {
            let _ = writeln!(
                out,
                "portcullis_registry_pulls_total{{kind=\"{kind}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The index of a status's class in [`CLASSES`].
fn status_class(status: StatusCode) -> usize {
    match status.as_u16() {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        _ => 4,
    }
}

/// The route family of a path: a few fixed names, never the path itself
/// (it would carry org, repository and tag names).
pub fn family(method: &Method, path: &str) -> &'static str {
    if let Some(rest) = path.strip_prefix("/v2") {
        let rest = rest.trim_end_matches('/');
        return if rest.is_empty() {
            "registry_base"
        } else if rest.contains("/blobs/uploads") {
            "registry_upload"
        } else if rest.contains("/manifests/") {
            match *method {
                Method::GET | Method::HEAD => "registry_manifest_pull",
                _ => "registry_manifest_push",
            }
        } else if rest.contains("/blobs/") {
            "registry_blob"
        } else if rest.ends_with("/tags/list")
            || rest == "/_catalog"
            || rest.contains("/referrers/")
        {
            "registry_list"
        } else {
            "registry_other"
        };
    }
    match path {
        "/metrics" | "/healthz" => "ops",
        "/events" => "events",
        _ if path.starts_with("/api/v1") => "api",
        _ if path.starts_with("/api/") => "server_fn",
        _ if path.starts_with("/pkg/") || path == "/favicon.svg" => "static",
        _ => "page",
    }
}

/// Counts every request (the outermost layer): its family, status class
/// and the time to its response head.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let family = family(req.method(), req.uri().path());
    let get = req.method() == Method::GET;
    let resp = next.run(req).await;
    let status = resp.status();
    metrics.record(family, status, started.elapsed().as_secs_f64());
    if get && status.is_success() {
        let pulls = match family {
            "registry_manifest_pull" => Some(&metrics.manifest_pulls),
            "registry_blob" => Some(&metrics.blob_pulls),
            _ => None,
        };
        if let Some(n) = pulls {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }
    resp
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let m = &state.metrics;
    if !m.allowed(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a metrics token is required\n",
        )
            .into_response();
    }
    let mut out = String::with_capacity(8192);
    m.render_requests(&mut out);
    let counts = &state.registry.cache.counts;
    out.push_str(
        "# HELP portcullis_cache_lookups_total Registry cache lookups by cache and result.\n",
    );
    out.push_str("# TYPE portcullis_cache_lookups_total counter\n");
    for (cache, result, n) in [
        ("manifest", "hit", &counts.manifest_hits),
        ("manifest", "miss", &counts.manifest_misses),
        ("graph", "hit", &counts.graph_hits),
        ("graph", "miss", &counts.graph_misses),
    ] {
        let _ = writeln!(
            out,
            "portcullis_cache_lookups_total{{cache=\"{cache}\",result=\"{result}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    let store = &state.ctx.store;
    let mut up = 1;
    match store.count_uploads().await {
        Ok(n) => {
            out.push_str("# HELP portcullis_upload_sessions_open Blob upload sessions open with a chunk stored (all instances; one with no chunk yet is not stored).\n");
            out.push_str("# TYPE portcullis_upload_sessions_open gauge\n");
            let _ = writeln!(out, "portcullis_upload_sessions_open {n}");
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: counting upload sessions failed");
            up = 0;
        }
    }
    match (store.last_change_id().await, store.feed_readers().await) {
        (Ok(last), Ok(readers)) => {
            let now = chrono::Utc::now();
            out.push_str("# HELP portcullis_change_feed_lag Changes committed that an instance has not applied yet.\n");
            out.push_str("# TYPE portcullis_change_feed_lag gauge\n");
            for r in &readers {
                let _ = writeln!(
                    out,
                    "portcullis_change_feed_lag{{instance=\"{}\"}} {}",
                    r.instance,
                    (last - r.applied_id).max(0)
                );
            }
            out.push_str("# HELP portcullis_change_feed_report_age_seconds Seconds since an instance last reported its position in the change feed.\n");
            out.push_str("# TYPE portcullis_change_feed_report_age_seconds gauge\n");
            for r in &readers {
                let age = (now - r.seen_at).num_milliseconds().max(0) as f64 / 1000.0;
                let _ = writeln!(
                    out,
                    "portcullis_change_feed_report_age_seconds{{instance=\"{}\"}} {age}",
                    r.instance
                );
            }
            out.push_str("# HELP portcullis_change_feed_last_id The newest change committed.\n");
            out.push_str("# TYPE portcullis_change_feed_last_id gauge\n");
            let _ = writeln!(out, "portcullis_change_feed_last_id {last}");
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "metrics: reading the change feed failed");
            up = 0;
        }
    }
    let pool = store.pool_use();
    out.push_str("# HELP portcullis_db_pool_connections Database pool connections by state.\n");
    out.push_str("# TYPE portcullis_db_pool_connections gauge\n");
    let _ = writeln!(
        out,
        "portcullis_db_pool_connections{{state=\"in_use\"}} {}",
        pool.size.saturating_sub(pool.idle)
    );
    let _ = writeln!(
        out,
        "portcullis_db_pool_connections{{state=\"idle\"}} {}",
        pool.idle
    );
    let _ = writeln!(
        out,
        "portcullis_db_pool_connections{{state=\"max\"}} {}",
        pool.max
    );
    out.push_str(
        "# HELP portcullis_upload_hashers Uploads whose running digest this instance holds.\n",
    );
    out.push_str("# TYPE portcullis_upload_hashers gauge\n");
    let _ = writeln!(
        out,
        "portcullis_upload_hashers {}",
        state.registry.uploads.len()
    );
    out.push_str("# HELP portcullis_database_up Whether this scrape's database reads succeeded.\n");
    out.push_str("# TYPE portcullis_database_up gauge\n");
    let _ = writeln!(out, "portcullis_database_up {up}");
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// `GET /healthz`: the database and the blob storage, each `ok` or
/// `unavailable` (the reason goes to the log only); 200 when both are
/// fine, else 503. Anyone may call it.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let (database, storage) =
        tokio::join!(state.ctx.store.has_orgs(), state.registry.storage.check());
    let database = match database {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %e, "health check: database failed");
            false
        }
    };
    let storage = match storage {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "health check: storage failed");
            false
        }
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let status = match database && storage {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        Json(serde_json::json!({
            "status": word(database && storage),
            "database": word(database),
            "storage": word(storage),
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_counters() {
        for f in FAMILIES {
            let m = Metrics::new(None);
            m.record(f, StatusCode::OK, 0.0);
            let mut out = String::new();
            m.render_requests(&mut out);
            assert!(
                out.contains(&format!("family=\"{f}\",status=\"2xx\"}} 1")),
                "{f}"
            );
        }
    }

    #[test]
    fn families_name_no_repository() {
        let cases = [
            (Method::GET, "/v2/", "registry_base"),
            (
                Method::GET,
                "/v2/acme/web/manifests/1.0",
                "registry_manifest_pull",
            ),
            (
                Method::PUT,
                "/v2/acme/web/manifests/1.0",
                "registry_manifest_push",
            ),
            (Method::GET, "/v2/acme/web/blobs/sha256:ab", "registry_blob"),
            (
                Method::PATCH,
                "/v2/acme/web/blobs/uploads/x",
                "registry_upload",
            ),
            (Method::GET, "/v2/acme/web/tags/list", "registry_list"),
            (Method::GET, "/api/v1/customers", "api"),
            (Method::POST, "/api/sign_in", "server_fn"),
            (Method::GET, "/licenses/3", "page"),
            (Method::GET, "/metrics", "ops"),
        ];
        for (method, path, want) in cases {
            assert_eq!(family(&method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn requests_render_as_cumulative_histograms() {
        let m = Metrics::new(None);
        m.record("api", StatusCode::OK, 0.003);
        m.record("api", StatusCode::OK, 0.2);
        m.record("api", StatusCode::NOT_FOUND, 20.0);
        let mut out = String::new();
        m.render_requests(&mut out);
        assert!(out.contains("portcullis_http_requests_total{family=\"api\",status=\"2xx\"} 2"));
        assert!(out.contains("portcullis_http_requests_total{family=\"api\",status=\"4xx\"} 1"));
        assert!(out.contains(
            "portcullis_http_request_duration_seconds_bucket{family=\"api\",status=\"2xx\",le=\"0.005\"} 1"
        ));
        assert!(out.contains(
            "portcullis_http_request_duration_seconds_bucket{family=\"api\",status=\"2xx\",le=\"0.25\"} 2"
        ));
        assert!(out.contains(
            "portcullis_http_request_duration_seconds_bucket{family=\"api\",status=\"4xx\",le=\"10\"} 0"
        ));
        assert!(out.contains(
            "portcullis_http_request_duration_seconds_bucket{family=\"api\",status=\"4xx\",le=\"+Inf\"} 1"
        ));
    }

    #[test]
    fn a_token_guards_metrics_when_set() {
        let open = Metrics::new(None);
        assert!(open.allowed(&HeaderMap::new()));
        let guarded = Metrics::new(Some("s3cret".into()));
        assert!(!guarded.allowed(&HeaderMap::new()));
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer wrong!".parse().unwrap());
        assert!(!guarded.allowed(&h));
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(guarded.allowed(&h));
    }
}
