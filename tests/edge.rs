//! The web edge on a real server: cross-site requests refused (CSRF),
//! security headers and the page's script nonce, one-time keys that work
//! once, and the API's error contract at its edges (bad path ids, unknown
//! paths, oversized server-function bodies).

mod common;

use common::{client, Answer, Api, TestApp};
use reqwest::Method;
use serde_json::Value;
use std::io::{Read, Write};

const ADMIN: &str = "a@acme.test";
const PASSWORD: &str = "admin password";
const EVIL: &str = "http://evil.example";

fn sign_in_form() -> [(&'static str, &'static str); 3] {
    [("email", ADMIN), ("password", PASSWORD), ("next", "")]
}

/// The admin's sign-in through its server function, from `c` with request
/// `headers`.
async fn sign_in_with(app: &TestApp, c: &reqwest::Client, headers: &[(&str, &str)]) -> Answer {
    app.call_with(c, "sign_in", &sign_in_form(), headers).await
}

/// Customer `name` through the console's server function, from `c` with
/// request `headers`.
async fn create_customer_with(
    app: &TestApp,
    c: &reqwest::Client,
    name: &str,
    headers: &[(&str, &str)],
) -> Answer {
    app.call_with(c, "create_customer", &[("name", name)], headers)
        .await
}

/// Customer `name` through the JSON API with `c`'s session cookie, sent as
/// from `origin`.
async fn post_customer(
    app: &TestApp,
    c: &reqwest::Client,
    origin: &str,
    name: &str,
) -> reqwest::Response {
    c.post(app.url("/api/v1/customers"))
        .header("Origin", origin)
        .json(&serde_json::json!({ "name": name }))
        .send()
        .await
        .unwrap()
}

async fn customer_names(app: &TestApp, token: &str) -> Vec<String> {
    let v = app
        .api(token)
        .ok(Method::GET, "/api/v1/customers", None)
        .await;
    common::names(&v, "customers")
}

#[tokio::test]
async fn cross_site_sign_in_and_changes_are_refused() {
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, PASSWORD);
    let own = app.base.clone();
    assert!(own.starts_with("http://127.0.0.1:"), "{own}");

    // Login CSRF: another site's form signs the browser in as someone.
    let c = client();
    let r = sign_in_with(&app, &c, &[("Origin", EVIL)]).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.headers.get("set-cookie").is_none(),
        "no session for a refused sign-in"
    );
    assert!(
        r.body["Refused"].as_str().unwrap().contains(EVIL),
        "a readable message naming the origin: {}",
        r.text
    );
    // The same origin as a host alias is still another origin.
    let localhost = own.replace("127.0.0.1", "localhost");
    let r = sign_in_with(&app, &c, &[("Origin", &localhost)]).await;
    assert_eq!(r.status, 403);
    // No Origin, but the browser says it is cross-site.
    let r = sign_in_with(&app, &c, &[("Sec-Fetch-Site", "cross-site")]).await;
    assert_eq!(r.status, 403);
    // A plain form post from another site: a readable page, not a redirect.
    let resp = app
        .post_form(
            &c,
            "sign_in",
            &sign_in_form(),
            &[("Origin", EVIL), ("Referer", &format!("{EVIL}/login"))],
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("set-cookie").is_none());
    let text = resp.text().await.unwrap();
    assert!(text.contains("another site"), "{text}");
    // Nothing was signed in by any of it.
    assert_eq!(app.get_status(&c, "/api/v1/me").await, 401);

    // The same origin, or no browser headers at all (scripts), work.
    let r = sign_in_with(&app, &c, &[("Origin", &own)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = sign_in_with(&app, &client(), &[("Sec-Fetch-Site", "same-origin")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let web = app.signed_in(ADMIN, PASSWORD).await;
    let token = app.token(ADMIN, &[]);

    // A signed-in browser, made to post by another site: refused, nothing created.
    let r = create_customer_with(&app, &web, "Forged", &[("Origin", EVIL)]).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = create_customer_with(&app, &web, "Forged", &[("Sec-Fetch-Site", "cross-site")]).await;
    assert_eq!(r.status, 403);
    // The JSON API with the session cookie: the same, as a JSON error.
    let resp = post_customer(&app, &web, EVIL, "Forged").await;
    assert_eq!(resp.status(), 403);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "forbidden", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains(EVIL));
    assert!(customer_names(&app, &token).await.is_empty());

    // From its own origin the console works; a bearer token carries its
    // credential itself and is never a cross-site risk.
    let r = create_customer_with(
        &app,
        &web,
        "Same Origin",
        &[("Origin", &own), ("Sec-Fetch-Site", "same-origin")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let resp = post_customer(&app, &web, &own, "Cookie Same Origin").await;
    assert_eq!(resp.status(), 201);
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&token)
        .header("Origin", EVIL)
        .json(&serde_json::json!({"name": "Bearer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // Reads are not state changes.
    let resp = web
        .get(app.url("/api/v1/me"))
        .header("Origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut names = customer_names(&app, &token).await;
    names.sort();
    assert_eq!(names, ["Bearer", "Cookie Same Origin", "Same Origin"]);
}

/// The `nonce="…"` of every `<script` tag in `html`.
fn script_nonces(html: &str) -> Vec<Option<String>> {
    html.match_indices("<script")
        .map(|(at, _)| {
            let tag = &html[at..at + html[at..].find('>').unwrap()];
            tag.split_once("nonce=\"")
                .map(|(_, rest)| rest[..rest.find('"').unwrap()].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn pages_and_the_api_carry_security_headers_and_scripts_their_nonce() {
    // A site root with the stylesheet, as the build lays it out.
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/portcullis.css"), "body{}").unwrap();
    let app = TestApp::spawn_with_env(&[("PORTCULLIS_SITE_ROOT", site.path().to_str().unwrap())]);
    app.create_org("acme", ADMIN, PASSWORD);
    let web = app.signed_in(ADMIN, PASSWORD).await;

    let common = |h: &reqwest::header::HeaderMap| {
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        let csp = h["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        csp
    };

    let mut seen = Vec::new();
    for (c, path) in [
        (&client(), "/signin"),
        (&web, "/settings"),
        (&web, "/no/such/page"),
    ] {
        let resp = c.get(app.url(path)).send().await.unwrap();
        let h = resp.headers().clone();
        let csp = common(&h);
        assert_eq!(h["cache-control"], "no-store", "{path}");
        let html = resp.text().await.unwrap();
        let nonces = script_nonces(&html);
        assert!(
            nonces.len() >= 2,
            "{path}: the loader and the resolved data: {html}"
        );
        let nonce = nonces[0].clone().expect("a nonce");
        assert!(
            nonces.iter().all(|n| n.as_deref() == Some(nonce.as_str())),
            "{path}: every script carries the nonce: {nonces:?}"
        );
        assert!(nonce.len() >= 16, "{nonce}");
        assert!(
            csp.contains(&format!(
                "script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"
            )),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("style-src 'self'") && csp.contains("connect-src 'self'"));
        seen.push(nonce);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "a new nonce per response");

    // The JSON API and server functions: never cached.
    for resp in [
        web.get(app.url("/api/v1/me")).send().await.unwrap(),
        client().get(app.url("/api/v1/me")).send().await.unwrap(),
        web.post(app.url("/api/list_tokens"))
            .header("Accept", "application/json")
            .form(&[("new_token", "")])
            .send()
            .await
            .unwrap(),
    ] {
        let h = resp.headers();
        common(h);
        assert_eq!(h["cache-control"], "no-store", "{}", resp.url());
    }
    // Static assets may be cached.
    let css = app.get(&client(), "/pkg/portcullis.css").await;
    assert_eq!(css.status, 200);
    common(&css.headers);
    assert!(css.headers.get("cache-control").is_none());
}

#[tokio::test]
async fn the_one_time_key_of_a_new_token_shows_it_once() {
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, PASSWORD);
    let web = app.signed_in(ADMIN, PASSWORD).await;
    // A plain form post (no JavaScript): a redirect with a one-time key.
    let resp = app
        .post_form(
            &web,
            "create_token",
            &[
                ("label", "laptop"),
                ("expires_in_days", ""),
                ("return_to", "/settings"),
            ],
            &[("Referer", &app.url("/settings"))],
        )
        .await;
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/settings?new_token="), "{location}");

    // Someone else with the URL (another user of the org) gets nothing,
    // and does not use it up.
    let added = app
        .add_vendor_user(&web, "b@acme.test", "other password", "admin")
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let other = app.signed_in("b@acme.test", "other password").await;
    let page = app.get_text(&other, &location).await;
    assert!(!page.contains("pcl_"), "{page}");

    let page = app.get_text(&web, &location).await;
    let at = page.find("pcl_").unwrap_or_else(|| panic!("{page}"));
    let secret: String = page[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert!(secret.len() > 20, "{secret}");
    // The secret works...
    let (status, _) = app.api(&secret).send(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200);
    // ... and the key showed it once: the same URL again shows nothing.
    let again = app.get_text(&web, &location).await;
    assert!(!again.contains(&secret), "{again}");
    assert!(again.contains("laptop"), "the token is listed: {again}");
    let key = location.split_once("new_token=").unwrap().1;
    let listed = app.call(&web, "list_tokens", &[("new_token", key)]).await;
    assert_eq!(listed.body["fresh"], Value::Null, "{}", listed.body);
}

/// The status and code of the JSON API error `method path` answers with
/// `api`; fails unless the answer is JSON.
async fn json_error(api: &Api, method: Method, path: &str) -> (u16, String) {
    let a = api.request(method, path, None, None).await;
    assert!(
        a.header("content-type").starts_with("application/json"),
        "{} {:?}",
        a.status,
        a.headers
    );
    (
        a.status,
        a.json()["error"]["code"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_path_id_that_is_not_a_number_is_a_json_400() {
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, PASSWORD);
    let api = app.api(&app.token(ADMIN, &[]));
    for (method, path) in [
        (Method::GET, "/api/v1/customers/abc"),
        (Method::DELETE, "/api/v1/tokens/1.5"),
        (Method::GET, "/api/v1/entitlements/x"),
        (
            Method::GET,
            "/api/v1/customers/99999999999999999999999/audit",
        ),
    ] {
        let bad_request = (400, "bad_request".to_owned());
        assert_eq!(json_error(&api, method, path).await, bad_request, "{path}");
    }
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404() {
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, PASSWORD);
    let api = app.api(&app.token(ADMIN, &[]));
    let anonymous = Api::anonymous(&app);
    for path in [
        "/api/v1",
        "/api/v1/",
        "/api/v1/nope",
        "/api/v1/customers/1/nope",
        "/api/v1/tokens/1/x",
    ] {
        let not_found = (404, "not_found".to_owned());
        assert_eq!(
            json_error(&api, Method::GET, path).await,
            not_found,
            "{path}"
        );
        assert_eq!(
            json_error(&anonymous, Method::POST, path).await,
            not_found,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_server_function_body_over_2_mib_is_413() {
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, PASSWORD);
    // With a Content-Length over the limit: refused before the body is
    // read (the server may close while the client still writes).
    let (status, body) = raw_post(&app, "/api/sign_in", 2 * 1024 * 1024 + 1, false);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\r\n\r\n\"TooLarge\""), "{body}");
    // The same without a Content-Length (chunked): read up to the limit only.
    let (status, body) = raw_post(&app, "/api/sign_in", 3 * 1024 * 1024, true);
    assert_eq!(status, 413, "{body}");
    // Under the limit it reaches the function, which refuses the email.
    let (status, body) = raw_post(&app, "/api/sign_in", 1024, true);
    assert!(matches!(status, 400 | 401), "{body}");
    app.sync_logs().await;
    assert!(!app.logs().contains("ERROR"), "{}", app.logs());
}

/// Posts `size` bytes of form body over a raw connection, in chunked
/// encoding or with a Content-Length, writing while it reads the answer;
/// returns the status and the answer's text.
fn raw_post(app: &TestApp, path: &str, size: usize, chunked: bool) -> (u16, String) {
    let addr = app.base.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    s.set_write_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let length = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {size}")
    };
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\n{length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = b"password=x&next=&email=".to_vec();
    body.resize(size, b'a');
    // The server may answer and close before everything is sent: write in
    // a thread and read the answer as it comes.
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        if !chunked {
            let _ = w.write_all(&body);
            return;
        }
        for chunk in body.chunks(64 * 1024) {
            if write!(w, "{:x}\r\n", chunk.len()).is_err()
                || w.write_all(chunk).is_err()
                || w.write_all(b"\r\n").is_err()
            {
                return;
            }
        }
        let _ = w.write_all(b"0\r\n\r\n");
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    writer.join().unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    (status, text)
}
