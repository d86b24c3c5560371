//! The one JSON test client: the `/api/v1` JSON API (bearer token, or
//! none) and server functions (`/api/{name}` with form fields, as hydrated
//! pages call them). Both answer an [`Answer`].

#![allow(dead_code)]

use super::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

/// What the server answered: status, headers and body (as text, and as JSON
/// or, when it is not JSON, the text as a JSON string).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Answer {
    pub async fn read(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Answer {
            status,
            headers,
            text,
            body,
        }
    }

    /// The body as JSON; fails the test when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }

    /// The `Set-Cookie` header; fails the test without one.
    pub fn cookie(&self) -> String {
        let cookie = self.headers.get("set-cookie").expect("a Set-Cookie header");
        cookie.to_str().unwrap().to_owned()
    }

    /// A header's value, or "" when it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or_default())
    }
}

/// The JSON API with a bearer token (or none).
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Api {
    pub fn new(app: &TestApp, token: &str) -> Self {
        Api {
            token: Some(token.to_owned()),
            ..Self::anonymous(app)
        }
    }

    /// The bearer token; fails the test for an anonymous client.
    pub fn token(&self) -> &str {
        self.token.as_deref().expect("a token")
    }

    /// Without credentials.
    pub fn anonymous(app: &TestApp) -> Self {
        Api {
            base: app.base.clone(),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    /// `method path` with an optional JSON body and `Accept` header.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        accept: Option<&str>,
    ) -> Answer {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(a) = accept {
            r = r.header("Accept", a);
        }
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        Answer::read(r.send().await.unwrap()).await
    }

    /// Status and JSON body (`null` when the body is not JSON).
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let a = self.request(method, path, body, None).await;
        (
            a.status,
            serde_json::from_str(&a.text).unwrap_or(Value::Null),
        )
    }

    /// A request that must succeed (2xx); its JSON body.
    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.send(method.clone(), path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}"
        );
        v
    }

    /// `GET path` asking for JSON.
    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, None, Some("application/json"))
            .await
    }

    /// `GET path` that must answer 200 with JSON.
    pub async fn get_ok(&self, path: &str) -> Value {
        let a = self.get(path).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.text);
        a.json()
    }

    /// A new customer named `name`; its id.
    pub async fn create_customer(&self, name: &str) -> i64 {
        let (s, c) = self
            .send(
                Method::POST,
                "/api/v1/customers",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        c["id"].as_i64().unwrap()
    }

    /// A new user of customer `customer`; its id.
    pub async fn add_customer_user(
        &self,
        customer: i64,
        email: &str,
        password: &str,
        role: &str,
    ) -> i64 {
        let (s, u) = self
            .send(
                Method::POST,
                &format!("/api/v1/customers/{customer}/users"),
                Some(json!({"email": email, "password": password, "role": role})),
            )
            .await;
        assert_eq!(s, 201, "{u}");
        u["id"].as_i64().unwrap()
    }

    /// A customer with one member user; (customer id, user id).
    pub async fn customer(&self, name: &str, email: &str, password: &str) -> (i64, i64) {
        let id = self.create_customer(name).await;
        let user = self.add_customer_user(id, email, password, "member").await;
        (id, user)
    }

    /// A new entitlement of `customer` (`body` as the API takes it); its id.
    pub async fn entitle(&self, customer: i64, body: Value) -> i64 {
        let (s, e) = self
            .send(
                Method::POST,
                &format!("/api/v1/customers/{customer}/entitlements"),
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "{e}");
        e["id"].as_i64().unwrap()
    }

    /// `DELETE path`, which must answer 204.
    pub async fn delete(&self, path: &str) {
        let (s, body) = self.send(Method::DELETE, path, None).await;
        assert_eq!(s, 204, "DELETE {path}: {body}");
    }

    /// Deletes entitlement `id`, which must answer 204.
    pub async fn delete_entitlement(&self, id: impl std::fmt::Display) {
        self.delete(&format!("/api/v1/entitlements/{id}")).await;
    }

    /// Revokes token `id`, which must answer 204.
    pub async fn delete_token(&self, id: impl std::fmt::Display) {
        self.delete(&format!("/api/v1/tokens/{id}")).await;
    }
}

impl TestApp {
    /// The JSON API with `token`.
    pub fn api(&self, token: &str) -> Api {
        Api::new(self, token)
    }

    /// `GET path` with `client` (a page, or anything else).
    pub async fn get(&self, client: &reqwest::Client, path: &str) -> Answer {
        Answer::read(client.get(self.url(path)).send().await.unwrap()).await
    }

    /// The body of `GET path` with `client`.
    pub async fn get_text(&self, client: &reqwest::Client, path: &str) -> String {
        self.get(client, path).await.text
    }

    /// The status of `GET path` with `client`.
    pub async fn get_status(&self, client: &reqwest::Client, path: &str) -> reqwest::StatusCode {
        client.get(self.url(path)).send().await.unwrap().status()
    }

    /// Each call in `calls` (server function, form fields) answers `status`
    /// with the JSON `body`.
    pub async fn calls_answer(
        &self,
        client: &reqwest::Client,
        calls: &[(&str, Vec<(&str, &str)>)],
        status: u16,
        body: Value,
    ) {
        for (name, form) in calls {
            let r = self.call(client, name, form).await;
            assert_eq!((r.status, &r.body), (status, &body), "{name}: {}", r.body);
        }
    }

    /// Calls server function `name` with form fields, as the hydrated UI does.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> Answer {
        self.call_with(client, name, form, &[]).await
    }

    /// The same, failing the test (with the body) unless it answers 200.
    pub async fn call_ok(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> Answer {
        let r = self.call(client, name, form).await;
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        r
    }

    /// The same with extra request headers (as a browser's `fetch` sends them).
    pub async fn call_with(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let resp = self
            .post_accepting(client, name, "application/json", form, headers)
            .await;
        Answer::read(resp).await
    }

    /// Posts form fields and request headers to server function `name`.
    async fn post_accepting(
        &self,
        client: &reqwest::Client,
        name: &str,
        accept: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut r = client
            .post(self.url(&format!("/api/{name}")))
            .header("Accept", accept)
            .form(form);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send().await.unwrap()
    }

    /// Posts form fields to server function `name` as a plain HTML form
    /// does (no JavaScript), with extra request headers.
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        self.post_accepting(client, name, "text/html", form, headers)
            .await
    }

    /// Calls the first-run form's server function: a new org and its admin.
    pub async fn create_first_org(
        &self,
        client: &reqwest::Client,
        org_name: &str,
        slug: &str,
        email: &str,
        password: &str,
    ) -> Answer {
        self.call(
            client,
            "create_first_org",
            &[
                ("org_name", org_name),
                ("slug", slug),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Adds a vendor user through the console's server function.
    pub async fn add_vendor_user(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
        role: &str,
    ) -> Answer {
        self.call(
            client,
            "add_vendor_user",
            &[("email", email), ("password", password), ("role", role)],
        )
        .await
    }

    /// Changes vendor user `user_id`'s role through the console's server function.
    pub async fn change_vendor_role(
        &self,
        client: &reqwest::Client,
        user_id: &str,
        role: &str,
    ) -> Answer {
        let form = [("user_id", user_id), ("role", role)];
        self.call(client, "change_vendor_role", &form).await
    }

    /// Removes vendor user `user_id` through the console's server function.
    pub async fn remove_vendor_user(&self, client: &reqwest::Client, user_id: &str) -> Answer {
        self.call(client, "remove_vendor_user", &[("user_id", user_id)])
            .await
    }

    pub async fn sign_in(&self, client: &reqwest::Client, email: &str, password: &str) -> Answer {
        self.call(
            client,
            "sign_in",
            &[("email", email), ("password", password), ("next", "")],
        )
        .await
    }

    /// Waits until the server's log holds every line it wrote before this
    /// call: it asks for a line of its own (a sign-in with an over-long
    /// email, refused before any other work, logged at `info`) and waits
    /// until the log reader has it (the pipe keeps the order).
    pub async fn sync_logs(&self) {
        const MARKER: &str = "sign-in failed (over-long input)";
        let before = self.logs().matches(MARKER).count();
        let email = format!("{}@example.com", "x".repeat(300));
        let answer = self.sign_in(&super::client(), &email, "x").await;
        assert_eq!(answer.status, 401, "{}", answer.text);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.logs().matches(MARKER).count() <= before {
            assert!(
                std::time::Instant::now() < deadline,
                "the server's log never showed its marker"
            );
            // Polling the reader thread's buffer for the marker.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// How many logged SQL statements (`sqlx::query` lines) contain `text`
    /// so far; it waits for the log first.
    pub async fn statements(&self, text: &str) -> usize {
        self.sync_logs().await;
        self.logs()
            .lines()
            .filter(|l| l.contains("sqlx::query") && l.contains(text))
            .count()
    }

    /// Opens `/events` (the live updates a page listens to) with `client`;
    /// the stream, which must have answered 200.
    pub async fn events(&self, client: &reqwest::Client) -> reqwest::Response {
        let r = client
            .get(self.url("/events"))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET /events");
        r
    }

    /// A client signed in as `email`.
    pub async fn signed_in(&self, email: &str, password: &str) -> reqwest::Client {
        let c = super::client();
        let r = self.sign_in(&c, email, password).await;
        assert_eq!(r.status, 200, "sign-in as {email} failed: {}", r.body);
        c
    }
}
