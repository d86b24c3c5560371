//! The browser bundle compiled into the binary (release builds made by
//! `scripts/lib.sh`; see `build.rs`), so that the binary is the one file to
//! deploy. The bundle's files carry a content hash in their names
//! (`/pkg/portcullis.<hash>.js`, `…_bg.wasm`, `….css`) and are answered with
//! `Cache-Control: public, max-age=31536000, immutable`; other assets
//! (`/favicon.svg`) keep their names and are cached for an hour, revalidated
//! with their `ETag`. Brotli and gzip copies, made at build time (build.rs),
//! go to clients that accept them (brotli, the smaller, when both are
//! accepted alike).

use crate::edge::header_items;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// One embedded file.
pub struct EmbeddedFile {
    /// Its URL path (`/pkg/portcullis.<hash>.js`, `/favicon.svg`).
    pub path: &'static str,
    /// Named by its content hash: cached for a year, never revalidated.
    pub immutable: bool,
    /// The first 16 hex digits of the sha256 of `body`.
    pub etag: &'static str,
    pub body: &'static [u8],
    /// `body` gzipped, when that is smaller.
    pub gzip: Option<&'static [u8]>,
    /// `body` brotli-compressed, when that is smaller.
    pub brotli: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/embedded_site.rs"));

/// The long-lived cache header of content-hashed files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The cache header of embedded files named as in the source (`/favicon.svg`).
pub const SHORT: &str = "public, max-age=3600, must-revalidate";

/// The output name the page's `<link>`/`<script>` tags use: `portcullis.<hash>`
/// when a bundle is embedded (see [`BUNDLE_HASH`]).
pub fn output_name() -> Option<String> {
    BUNDLE_HASH.map(|hash| format!("portcullis.{hash}"))
}

/// The embedded file at `path`, if any.
pub fn find(path: &str) -> Option<&'static EmbeddedFile> {
    FILES.iter().find(|f| f.path == path)
}

/// Answers a `GET` or `HEAD` of an embedded file; `None` for anything else
/// (the caller answers it, with the not-found page).
pub fn respond(req: &Request) -> Option<Response> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return None;
    }
    let file = find(req.uri().path())?;
    let etag = format!("\"{}\"", file.etag);
    let mut res = if if_none_match(req.headers(), &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (body, coding) = encoded(file, req.headers());
        let mut res = if req.method() == Method::HEAD {
            let mut res = Response::new(Body::empty());
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            res
        } else {
            Response::new(Body::from(body))
        };
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(file.path)),
        );
        if let Some(coding) = coding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        res
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if file.immutable { IMMUTABLE } else { SHORT }),
    );
    if file.gzip.is_some() || file.brotli.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    Some(res)
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    header_items(headers, header::IF_NONE_MATCH)
        .map(|t| t.trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// The copy of `file` to send and its content coding: of the compressed
/// copies it has, the one `Accept-Encoding` weighs highest (brotli on a tie:
/// it is the smaller), else the body as is.
fn encoded(file: &EmbeddedFile, headers: &HeaderMap) -> (&'static [u8], Option<&'static str>) {
    let mut best = (file.body, None, 0.0);
    for (copy, coding) in [(file.brotli, "br"), (file.gzip, "gzip")] {
        let q = weight(headers, coding);
        if let Some(copy) = copy.filter(|_| q > best.2) {
            best = (copy, Some(coding), q);
        }
    }
    (best.0, best.1)
}

/// The weight (`q`) `Accept-Encoding` gives `coding`: its own entry's, else
/// that of `*`, else 0 (not acceptable). An entry without `q` weighs 1.
fn weight(headers: &HeaderMap, coding: &str) -> f32 {
    let mut any = 0.0;
    for item in header_items(headers, header::ACCEPT_ENCODING) {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| {
                let p = p.trim();
                p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
            })
            .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(1.0));
        if name.eq_ignore_ascii_case(coding) {
            return q;
        }
        if name == "*" {
            any = q;
        }
    }
    any
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_sent_is_the_best_accepted() {
        let file = EmbeddedFile {
            path: "/pkg/portcullis.0123_bg.wasm",
            immutable: true,
            etag: "0123",
            body: b"body",
            gzip: Some(b"gz"),
            brotli: Some(b"br"),
        };
        let sent = |v: &'static str| {
            let mut h = HeaderMap::new();
            if !v.is_empty() {
                h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
            }
            encoded(&file, &h).1
        };
        // What browsers send: brotli, the smaller, when both are accepted.
        assert_eq!(sent("gzip, deflate, br, zstd"), Some("br"));
        assert_eq!(sent("br"), Some("br"));
        assert_eq!(sent("gzip, deflate"), Some("gzip"));
        assert_eq!(sent("GZIP"), Some("gzip"));
        // The client's weights decide; q=0 refuses.
        assert_eq!(sent("br;q=0.5, gzip;q=1.0"), Some("gzip"));
        assert_eq!(sent("br;q=0, gzip"), Some("gzip"));
        assert_eq!(sent("gzip;q=0"), None);
        // `*` stands for what is not named.
        assert_eq!(sent("*"), Some("br"));
        assert_eq!(sent("br;q=0, *"), Some("gzip"));
        assert_eq!(sent("identity"), None);
        assert_eq!(sent(""), None);
        // A file without a brotli copy is sent gzipped to the same client.
        let gz_only = EmbeddedFile {
            brotli: None,
            ..file
        };
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip"),
        );
        assert_eq!(encoded(&gz_only, &h), (&b"gz"[..], Some("gzip")));
    }

    #[test]
    fn etags_match_strong_weak_and_any() {
        let h = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_static(v));
            h
        };
        assert!(if_none_match(&h("\"abc\""), "\"abc\""));
        assert!(if_none_match(&h("\"x\", W/\"abc\""), "\"abc\""));
        assert!(if_none_match(&h("*"), "\"abc\""));
        assert!(!if_none_match(&h("\"abd\""), "\"abc\""));
    }

    #[test]
    fn types_by_extension() {
        assert_eq!(
            content_type("/pkg/portcullis.0123._bg.wasm"),
            "application/wasm"
        );
        assert_eq!(content_type("/favicon.svg"), "image/svg+xml");
        assert_eq!(
            content_type("/pkg/portcullis.0123.js"),
            "text/javascript; charset=utf-8"
        );
    }
}
