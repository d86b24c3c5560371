//! The web edge of the UI and the JSON API (not the registry): what every
//! answer carries, and what is refused before any handler runs.
//!
//! - [`headers`]: security headers on every answer. HTML pages get a
//!   `Content-Security-Policy` whose script nonce is made here, per response,
//!   and handed to Leptos (see [`provide_nonce`]), which puts it on every
//!   script it writes (hydration loader, resolved resources).
//! - [`guard`]: cross-site request refusal (CSRF) for server functions and
//!   cookie-authenticated `/api/v1` changes, and the server-function body
//!   limit (413, not a 500 from deep inside server_fn).

use crate::api::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::nonce::Nonce;
use std::sync::Arc;

/// The largest server-function body (the same as axum's default limit).
pub const SERVER_FN_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What the edge needs to know: the public URL's origin.
#[derive(Debug, Clone)]
pub struct Edge {
    /// `scheme://host[:port]` of the public URL, as browsers send `Origin`.
    origin: Option<String>,
    public_url: String,
    /// No `--public-url` was given (the public URL is made from `--listen`):
    /// an `Origin` naming the host the request was sent to (`Host`) is
    /// same-origin too, so a server reached as `localhost` or by a LAN
    /// address still works. With an explicit public URL only its origin is.
    trust_host: bool,
    /// How a refused server function is answered (the UI's error format).
    server_fn_refusal: RefusalResponder,
}

impl Edge {
    /// The edge of a server whose public URL was configured.
    pub fn new(public_url: &str) -> Arc<Self> {
        Self::with(public_url, false)
    }

    /// `explicit`: whether the public URL was configured (`--public-url`)
    /// rather than made from the listen address.
    pub fn with(public_url: &str, explicit: bool) -> Arc<Self> {
        Arc::new(Self {
            origin: origin_of(public_url),
            public_url: public_url.to_owned(),
            trust_host: !explicit,
            server_fn_refusal: plain_refusal,
        })
    }

    /// The edge of the UI: refused server functions are answered by
    /// `responder` (in the UI's error format).
    pub fn for_ui(public_url: &str, explicit: bool, responder: RefusalResponder) -> Arc<Self> {
        Arc::new(Self {
            server_fn_refusal: responder,
            ..Arc::unwrap_or_clone(Self::with(public_url, explicit))
        })
    }

    /// Whether `origin` (an `Origin` header) is this server's.
    fn same_origin(&self, origin: &str, headers: &HeaderMap) -> bool {
        let Some(origin) = origin_of(origin) else {
            return false;
        };
        if self.origin.as_deref() == Some(origin.as_str()) {
            return true;
        }
        self.trust_host
            && headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(|host| origin_of(&format!("http://{host}")))
                .is_some_and(|o| o == origin)
    }
}

/// The origin of a URL, normalised as browsers serialise it: lowercase
/// scheme and host, the port only when it is not the scheme's default.
/// `None` for anything that is not an absolute http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host()?.to_ascii_lowercase();
    Some(match uri.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

// ---------------------------------------------------------------------------
// Security headers

/// The nonce of this response's scripts, put in the request's extensions by
/// [`headers`] and provided to Leptos by [`provide_nonce`].
#[derive(Clone)]
struct ScriptNonce(Nonce);

/// Part of the `additional_context` of every Leptos render: the response's
/// nonce (from [`headers`]) replaces the one leptos_axum made up, so the
/// policy in the header names the nonce the scripts carry.
pub fn provide_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(parts) = use_context::<axum::http::request::Parts>() {
        if let Some(ScriptNonce(nonce)) = parts.extensions.get::<ScriptNonce>() {
            provide_context(nonce.clone());
        }
    }
}

/// The policy of an HTML page: scripts only by nonce (inline) or from this
/// origin (the wasm-bindgen module), wasm compiled from this origin, styles
/// only from the app's stylesheet, fetches (server functions, `/events`)
/// only to this origin, and no framing.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; \
         script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; \
         img-src 'self'; \
         font-src 'self'; \
         connect-src 'self'; \
         manifest-src 'self'; \
         form-action 'self'; \
         base-uri 'none'; \
         object-src 'none'; \
         frame-ancestors 'none'"
    )
}

/// The policy of everything else (JSON, static files): nothing runs.
const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Adds the security headers to every answer of the UI and the API.
/// `Cache-Control: no-store` goes on pages (signed-in content, a fresh
/// nonce each time) and on everything under `/api/` (server functions and
/// the JSON API), not on static files.
pub async fn headers(mut req: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(ScriptNonce(nonce.clone()));
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let html = is_html(res.headers());
    let h = res.headers_mut();
    let policy = if html {
        page_policy(&nonce)
    } else {
        OTHER_POLICY.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&policy) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if html || api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

// ---------------------------------------------------------------------------
// Cross-site requests and the server-function body limit

/// Server functions live at `/api/<name>`; the JSON API at `/api/v1/…`.
fn is_server_fn(path: &str) -> bool {
    path.starts_with("/api/") && path != "/api/v1" && !path.starts_with("/api/v1/")
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    let prefix = format!("{}=", crate::server::SESSION_COOKIE);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| c.trim_start().starts_with(&prefix))
}

/// Why a request is refused as cross-site, or `None` to let it through.
///
/// Checked: every state change (any method but GET/HEAD/OPTIONS) of a
/// server function (sign-in included: login CSRF) and every one that a
/// session cookie would authenticate without an `Authorization` header.
/// The `Origin` header must be the public URL's origin; without `Origin`,
/// `Sec-Fetch-Site` must be `same-origin` (or `none`: typed by the user);
/// with neither (curl, scripts: no ambient browser credentials to abuse)
/// the request goes through. A bearer-token call carries its credential
/// explicitly, so it is not a CSRF risk.
pub fn cross_site(method: &Method, path: &str, headers: &HeaderMap, edge: &Edge) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let checked = is_server_fn(path)
        || (has_session_cookie(headers) && !headers.contains_key(header::AUTHORIZATION));
    if !checked {
        return None;
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if edge.same_origin(origin, headers) {
            return None;
        }
        return Some(format!(
            "This request came from another site ({}) and was refused. Open Portcullis at {} and try again; if that is where you are, the server's --public-url is set wrong.",
            if origin.is_empty() { "unknown" } else { origin },
            edge.public_url
        ));
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str().unwrap_or("") {
            "same-origin" | "none" => None,
            other => Some(format!(
                "This request came from another site (Sec-Fetch-Site: {other}) and was refused. Open Portcullis at {} and try again.",
                edge.public_url
            )),
        };
    }
    None
}

/// A plain HTML form post (no JavaScript) wants a page, not JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Why the edge refused a server function before it ran; the UI words it
/// ([`Edge::server_fn_refusal`], given by the composition root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A cross-site request: where it came from and where to go instead.
    CrossSite(String),
    /// The body is over [`SERVER_FN_BODY_LIMIT`].
    TooLarge,
    /// The body could not be read.
    Unreadable,
}

/// Answers a refused server function: `(status, refusal, wants_html)`.
pub type RefusalResponder = fn(StatusCode, Refusal, bool) -> Response;

/// Plain text, for an edge without a UI (tests of the checks alone).
fn plain_refusal(status: StatusCode, refusal: Refusal, _html: bool) -> Response {
    (status, format!("{refusal:?}\n")).into_response()
}

/// Refuses cross-site state changes (403) and oversized server-function
/// bodies (413) before anything else sees them.
pub async fn guard(State(edge): State<Arc<Edge>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let server_fn = is_server_fn(&path);
    if let Some(message) = cross_site(req.method(), &path, req.headers(), &edge) {
        tracing::warn!(method = %req.method(), %path, origin = ?req.headers().get(header::ORIGIN), "cross-site request refused");
        return if server_fn {
            (edge.server_fn_refusal)(
                StatusCode::FORBIDDEN,
                Refusal::CrossSite(message),
                wants_html(req.headers()),
            )
        } else {
            ApiError::cross_site(message).into_response()
        };
    }
    if !server_fn || matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    // The whole body, up to the limit: over it is 413 (server_fn itself
    // would answer a failed read with 500).
    let html = wants_html(req.headers());
    let too_large =
        || (edge.server_fn_refusal)(StatusCode::PAYLOAD_TOO_LARGE, Refusal::TooLarge, html);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > SERVER_FN_BODY_LIMIT as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, SERVER_FN_BODY_LIMIT).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e) if is_length_limit(&e) => too_large(),
        Err(e) => {
            tracing::debug!(error = %e, "reading a server function's body failed");
            (edge.server_fn_refusal)(StatusCode::BAD_REQUEST, Refusal::Unreadable, html)
        }
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// The items of a comma-separated request header (`Accept`,
/// `Accept-Encoding`, `If-None-Match`), trimmed, over all its lines.
pub(crate) fn header_items(
    headers: &HeaderMap,
    name: header::HeaderName,
) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins_are_normalised() {
        let cases = [
            ("http://127.0.0.1:3000", Some("http://127.0.0.1:3000")),
            (
                "HTTPS://Registry.Example.com:443/some/path/",
                Some("https://registry.example.com"),
            ),
            ("http://example.com:80", Some("http://example.com")),
            ("http://[::1]:8080", Some("http://[::1]:8080")),
            ("null", None),
            ("ftp://example.com", None),
        ];
        for (given, origin) in cases {
            assert_eq!(origin_of(given).as_deref(), origin, "{given}");
        }
    }

    #[test]
    fn without_a_configured_public_url_the_requests_host_is_same_origin() {
        let post = Method::POST;
        // A server function posted from `origin` to `host`.
        let check = |edge: &Edge, host: &'static str, origin: &'static str| {
            let h = headers(&[("host", host), ("origin", origin)]);
            cross_site(&post, "/api/sign_in", &h, edge).is_some()
        };
        let made_up = Edge::with("http://0.0.0.0:3000", false);
        assert!(!check(
            &made_up,
            "registry.lan:3000",
            "http://registry.lan:3000"
        ));
        assert!(!check(&made_up, "localhost:3000", "http://localhost:3000"));
        assert!(check(&made_up, "registry.lan:3000", "http://evil.example"));
        assert!(check(&made_up, "registry.lan:3000", "null"));
        // Configured: only the public URL's origin, whatever the Host.
        let configured = Edge::with("https://registry.example.com", true);
        assert!(check(
            &configured,
            "registry.lan:3000",
            "http://registry.lan:3000"
        ));
        assert!(!check(
            &configured,
            "registry.lan",
            "https://registry.example.com"
        ));
    }

    #[test]
    fn cross_site_rules() {
        let edge = Edge::new("http://127.0.0.1:3000/");
        let post = Method::POST;
        let check = |m: &Method, p: &str, h: &[(&'static str, &'static str)]| {
            cross_site(m, p, &headers(h), &edge).is_some()
        };
        let sign_in = |h: &[(&'static str, &'static str)]| check(&post, "/api/sign_in", h);
        let cookie = ("cookie", "a=b; portcullis_session=xyz");
        let evil = ("origin", "http://evil.example");
        // Server functions: Origin must be the public origin.
        assert!(!sign_in(&[("origin", "http://127.0.0.1:3000")]));
        assert!(sign_in(&[evil]));
        assert!(sign_in(&[("origin", "http://localhost:3000")]));
        assert!(sign_in(&[("origin", "null")]));
        assert!(sign_in(&[("sec-fetch-site", "cross-site")]));
        assert!(sign_in(&[("sec-fetch-site", "same-site")]));
        assert!(!sign_in(&[("sec-fetch-site", "same-origin")]));
        // Origin decides when both are there.
        assert!(sign_in(&[evil, ("sec-fetch-site", "same-origin")]));
        // Neither header: a script, not a browser.
        assert!(!sign_in(&[]));
        // Reads are never refused.
        assert!(!check(&Method::GET, "/api/v1/me", &[cookie, evil]));
        // The JSON API: only when a session cookie would authenticate it.
        let customers = |h: &[(&'static str, &'static str)]| check(&post, "/api/v1/customers", h);
        assert!(customers(&[cookie, evil]));
        assert!(check(
            &Method::DELETE,
            "/api/v1/tokens/1",
            &[cookie, ("sec-fetch-site", "cross-site")]
        ));
        assert!(!customers(&[evil]));
        assert!(!customers(&[
            cookie,
            ("authorization", "Bearer pcl_x"),
            evil
        ]));
        assert!(!customers(&[cookie, ("origin", "http://127.0.0.1:3000")]));
    }

    #[test]
    fn the_page_policy_names_its_nonce() {
        let p = page_policy("abc123");
        assert!(p.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains("unsafe-inline"));
    }
}
