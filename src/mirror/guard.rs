//! The SSRF guard, checked at every connection a sync opens.
//!
//! `oci-client` 0.18 builds its own `reqwest` client (no resolver or
//! connector can be passed in), but it takes a proxy. So each sync sends
//! its requests through a proxy of its own on loopback ([`Egress`]), which
//! resolves the host of every connection once, checks every address
//! ([`domain::upstreams::check_address`]: link-local and metadata always
//! refused, loopback and private unless allowed; any refused address
//! refuses the host) and connects to an address it checked. The check is
//! therefore pinned to the connection: a name that resolves elsewhere on
//! the next lookup, a redirect to another host (blob storage behind a CDN)
//! and a token realm elsewhere are each checked again.
//!
//! It speaks `CONNECT` (https: TLS stays end to end between the sync and
//! the upstream) and absolute-form forwarding (plain http, when allowed).
//! It listens on loopback only and lives as long as its sync; it asks for
//! no password (a client following a redirect to another host drops
//! `Proxy-Authorization`), which gives a local process nothing it could
//! not do itself: the proxy connects only where the guard allows. Why it
//! refused is kept for the
//! sync ([`Egress::failure`]), which reports that rather than what the
//! client made of the proxy's answer.

use super::error::{Kind, SyncError};
use bytes::Bytes;
use domain::upstreams::check_address;
use http_body_util::{combinators::BoxBody, BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// How long connecting to one address of an upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Body = BoxBody<Bytes, hyper::Error>;

struct Shared {
    allow_private: bool,
    /// Why the last connection was not made (see [`Egress::failure`]).
    failure: Mutex<Option<SyncError>>,
}

/// One sync's proxy; it stops when dropped.
pub struct Egress {
    url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Egress {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Egress {
    pub async fn start(allow_private: bool) -> std::io::Result<Egress> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            allow_private,
            failure: Mutex::default(),
        });
        let task = tokio::spawn(accept(listener, shared.clone()));
        Ok(Egress {
            url: format!("http://{addr}"),
            shared,
            task,
        })
    }

    /// The proxy's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Why the proxy did not connect, if it did not: a refusal stays (the
    /// rest of the run would be refused too), anything else is taken.
    pub fn failure(&self) -> Option<SyncError> {
        let mut slot = self
            .shared
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some(e) if e.kind == Kind::Refused => Some(e.clone()),
            _ => slot.take(),
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve(req, shared.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .preserve_header_case(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn answer(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Empty::new().map_err(|e| match e {}).boxed());
    *r.status_mut() = status;
    r
}

async fn serve(
    mut req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Body>, hyper::Error> {
    let Some((host, port)) = target(&req) else {
        return Ok(answer(StatusCode::BAD_REQUEST));
    };
    let stream = match connect(&host, port, shared.allow_private).await {
        Ok(s) => s,
        Err(e) => {
            let status = if e.kind == Kind::Refused {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::BAD_GATEWAY
            };
            tracing::debug!(error = %e, "mirror: the egress proxy did not connect");
            *shared.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            return Ok(answer(status));
        }
    };
    if req.method() == Method::CONNECT {
        // A tunnel: the bytes both ways, once the client has its 200.
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                let mut client = TokioIo::new(upgraded);
                let mut upstream = stream;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
        return Ok(answer(StatusCode::OK));
    }
    // Plain http: the request, in origin form, on a connection of its own.
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    *req.uri_mut() = match path.parse() {
        Ok(u) => u,
        Err(_) => return Ok(answer(StatusCode::BAD_REQUEST)),
    };
    let headers = req.headers_mut();
    headers.remove("proxy-connection");
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(_) => return Ok(answer(StatusCode::BAD_GATEWAY)),
        };
    tokio::spawn(connection);
    match sender.send_request(req).await {
        Ok(r) => Ok(r.map(|b| b.boxed())),
        Err(_) => Ok(answer(StatusCode::BAD_GATEWAY)),
    }
}

/// The host and port a request is for: `CONNECT host:port`, or an
/// absolute-form `http://host[:port]/…`.
fn target(req: &Request<Incoming>) -> Option<(String, u16)> {
    let uri = req.uri();
    let authority = uri.authority()?;
    let port = match authority.port_u16() {
        Some(p) => p,
        None if req.method() == Method::CONNECT => return None,
        None if uri.scheme_str() == Some("http") => 80,
        None => return None,
    };
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host.to_owned(), port))
}

/// Resolves `host` once, checks every address, and connects to one of
/// them: the address connected to is always one that was checked.
async fn connect(host: &str, port: u16, allow_private: bool) -> Result<TcpStream, SyncError> {
    let shown = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map(|a| a.collect())
            .unwrap_or_default(),
    };
    if addrs.is_empty() {
        return Err(SyncError::new(
            Kind::Unreachable,
            format!("unreachable: the name {host} does not resolve"),
        ));
    }
    for a in &addrs {
        if let Err(r) = check_address(a.ip(), allow_private) {
            return Err(SyncError::new(
                Kind::Refused,
                format!("refused: {shown} is {r}, which this server does not connect to"),
            ));
        }
    }
    for a in addrs {
        if let Ok(Ok(s)) = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(a)).await {
            let _ = s.set_nodelay(true);
            return Ok(s);
        }
    }
    Err(SyncError::new(
        Kind::Unreachable,
        format!("unreachable: cannot connect to {shown}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback HTTP server answering every request with "hello".
    async fn hello() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(|| async { "hello" });
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    /// `url` fetched through `egress`.
    async fn get(egress: &Egress, url: &str) -> reqwest::Result<reqwest::Response> {
        reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(egress.url()).unwrap())
            .build()
            .unwrap()
            .get(url)
            .send()
            .await
    }

    #[tokio::test]
    async fn forwards_to_allowed_addresses_and_refuses_the_others() {
        let target = hello().await;
        let open = Egress::start(true).await.unwrap();
        let body = get(&open, &format!("http://{target}/v2/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hello");
        assert!(open.failure().is_none());

        // Loopback is private: refused unless allowed, and the proxy says why.
        let closed = Egress::start(false).await.unwrap();
        let r = get(&closed, &format!("http://{target}/v2/")).await.unwrap();
        assert_eq!(r.status(), 403);
        let e = closed.failure().unwrap();
        assert_eq!(e.kind, Kind::Refused);
        assert!(e.message.contains("loopback"), "{e}");
        // A refusal stays for the rest of the run.
        assert!(closed.failure().is_some());
    }

    #[tokio::test]
    async fn refuses_link_local_tunnels_even_when_private_is_allowed() {
        let egress = Egress::start(true).await.unwrap();
        for url in [
            "https://169.254.169.254/latest",
            "https://[fe80::1]:5000/v2/",
        ] {
            assert!(get(&egress, url).await.is_err(), "{url}");
            let e = egress.failure().unwrap();
            assert_eq!(e.kind, Kind::Refused);
            assert!(e.message.contains("link-local"), "{e}");
            *egress.shared.failure.lock().unwrap() = None;
        }
    }

    #[tokio::test]
    async fn says_unreachable_for_a_closed_port() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let egress = Egress::start(true).await.unwrap();
        let r = get(&egress, &format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap();
        assert_eq!(r.status(), 502);
        let e = egress.failure().unwrap();
        assert!(e.message.starts_with("unreachable"), "{e}");
        // Taken: the next attempt starts clean.
        assert!(egress.failure().is_none());
    }
}
