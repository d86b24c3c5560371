//! The JSON API (SPEC §8) on a real server: bearer and session auth,
//! shapes, validation, roles and cross-org isolation.

mod common;

use common::registry::Reg;
use common::TestApp;
use serde_json::{json, Value};

const ADMIN: &str = "a@acme.test";

struct Api {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn api(app: &TestApp, token: &str) -> Api {
    Api {
        base: app.base.clone(),
        http: reqwest::Client::new(),
        token: Some(token.to_owned()),
    }
}

#[tokio::test]
async fn customers_tokens_and_me_over_the_api() {
    use reqwest::Method as M;
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, "admin password");
    let a = api(&app, &app.token(ADMIN, &[]));

    let (s, me) = a.send(M::GET, "/api/v1/me", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (me["email"].clone(), me["kind"].clone(), me["role"].clone()),
        (json!(ADMIN), json!("vendor"), json!("admin"))
    );
    assert_eq!(me["org"]["slug"], "acme");

    // No or bad credentials: 401 with the JSON error shape.
    let anon = Api {
        token: None,
        ..api(&app, "")
    };
    let (s, e) = anon.send(M::GET, "/api/v1/me", None).await;
    assert_eq!(
        (s, e["error"]["code"].clone()),
        (401, json!("unauthenticated"))
    );
    let (s, _) = api(&app, "pcl_wrong")
        .send(M::GET, "/api/v1/customers", None)
        .await;
    assert_eq!(s, 401);

    // Customers: validation, create, conflict, list, get, rename, users.
    let (s, e) = a
        .send(M::POST, "/api/v1/customers", Some(json!({"name": ""})))
        .await;
    assert_eq!((s, e["error"]["fields"]["name"].is_string()), (422, true));
    let (s, e) = a
        .send(M::POST, "/api/v1/customers", Some(json!({"nom": "x"})))
        .await;
    assert_eq!((s, e["error"]["code"].clone()), (400, json!("bad_request")));
    let (s, c) = a
        .send(
            M::POST,
            "/api/v1/customers",
            Some(json!({"name": "Globex"})),
        )
        .await;
    assert_eq!(s, 201);
    let id = c["id"].as_i64().unwrap();
    let (s, e) = a
        .send(
            M::POST,
            "/api/v1/customers",
            Some(json!({"name": "Globex"})),
        )
        .await;
    assert_eq!((s, e["error"]["fields"]["name"].is_string()), (409, true));
    let (_, list) = a.send(M::GET, "/api/v1/customers?q=glo", None).await;
    assert_eq!(list["customers"][0]["name"], "Globex");
    let (s, u) = a
        .send(
            M::POST,
            &format!("/api/v1/customers/{id}/users"),
            Some(json!({"email": "c@globex.test", "password": "customer pw", "role": "member"})),
        )
        .await;
    assert_eq!(
        (s, u["email"].clone(), u["role"].clone()),
        (201, json!("c@globex.test"), json!("member"))
    );
    let (s, e) = a
        .send(
            M::POST,
            &format!("/api/v1/customers/{id}/users"),
            Some(json!({"email": "bad", "password": "x", "role": "owner"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["fields"].as_object().unwrap().len(), 3);
    let (s, got) = a
        .send(M::GET, &format!("/api/v1/customers/{id}"), None)
        .await;
    assert_eq!(
        (s, got["users"][0]["email"].clone()),
        (200, json!("c@globex.test"))
    );
    let (s, renamed) = a
        .send(
            M::PATCH,
            &format!("/api/v1/customers/{id}"),
            Some(json!({"name": "Globex Corp"})),
        )
        .await;
    assert_eq!((s, renamed["name"].clone()), (200, json!("Globex Corp")));

    // Tokens: create (secret once), list (no secrets), revoke, effective at once.
    let (s, t) = a
        .send(
            M::POST,
            "/api/v1/tokens",
            Some(json!({"label": "ci", "expires_at": "2099-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(s, 201);
    let secret = t["secret"].as_str().unwrap().to_owned();
    let (_, listed) = a.send(M::GET, "/api/v1/tokens", None).await;
    assert!(!listed.to_string().contains(&secret));
    let ci = api(&app, &secret);
    assert_eq!(ci.send(M::GET, "/api/v1/me", None).await.0, 200);
    let (s, _) = a
        .send(
            M::DELETE,
            &format!("/api/v1/tokens/{}", t["token"]["id"]),
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(ci.send(M::GET, "/api/v1/me", None).await.0, 401);
    let (s, e) = a
        .send(
            M::POST,
            "/api/v1/tokens",
            Some(json!({"label": "old", "expires_at": "2001-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(
        (s, e["error"]["fields"]["expires_at"].is_string()),
        (422, true)
    );

    // Customer users are refused; another org's customer is not found.
    let cust = api(&app, &app.token("c@globex.test", &[]));
    assert_eq!(
        cust.send(M::GET, "/api/v1/me", None).await.1["customer"]["name"],
        "Globex Corp"
    );
    assert_eq!(cust.send(M::GET, "/api/v1/customers", None).await.0, 403);
    assert_eq!(
        cust.send(M::GET, "/api/v1/artifacts", None).await.1,
        json!({"artifacts": []})
    );
    app.create_org("beta", "b@beta.test", "beta password");
    let b = api(&app, &app.token("b@beta.test", &[]));
    for (m, path) in [
        (M::GET, format!("/api/v1/customers/{id}")),
        (M::DELETE, format!("/api/v1/customers/{id}")),
    ] {
        let (s, e) = b.send(m, &path, None).await;
        assert_eq!((s, e["error"]["code"].clone()), (404, json!("not_found")));
    }

    // Artifacts for vendor users, with tags.
    let reg = Reg::new(&app.base, ADMIN, a.token.as_deref().unwrap());
    reg.push_image("acme/web", "1.0", &[b"layer"]).await;
    let (_, arts) = a.send(M::GET, "/api/v1/artifacts", None).await;
    assert_eq!(arts["artifacts"][0]["name"], "web");
    assert_eq!(arts["artifacts"][0]["tags"][0]["tag"], "1.0");

    // Delete the customer: its users' tokens stop working at once.
    assert_eq!(
        a.send(M::DELETE, &format!("/api/v1/customers/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(cust.send(M::GET, "/api/v1/me", None).await.0, 401);
}

#[tokio::test]
async fn the_api_accepts_the_session_cookie() {
    let app = TestApp::spawn();
    app.create_org("acme", ADMIN, "admin password");
    let web = app.signed_in(ADMIN, "admin password").await;
    let r = web.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["email"], ADMIN);
}

#[tokio::test]
async fn entitlements_over_the_api() {
    use reqwest::Method as M;
    let app = TestApp::spawn();
    let out = app.cli(
        &[
            "admin",
            "create-org",
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--admin-email",
            ADMIN,
            "--plan",
            "pro",
        ],
        "admin password\n",
    );
    assert!(out.status.success());
    let token = app.token(ADMIN, &[]);
    let a = api(&app, &token);
    let reg = Reg::new(&app.base, ADMIN, &token);
    reg.push_image("acme/web", "1.0", &[b"a"]).await;
    reg.push_image("acme/web", "1.1", &[b"b"]).await;
    reg.push_image("acme/charts/web", "1.0.0", &[b"c"]).await;
    let (_, c) = a
        .send(
            M::POST,
            "/api/v1/customers",
            Some(json!({"name": "Globex"})),
        )
        .await;
    let cid = c["id"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{cid}/entitlements");

    let body = json!({"name": "Gold", "expires_at": "2027-01-31T00:00:00Z",
        "artifacts": [{"artifact": "web", "tags": "all"}, {"artifact": "charts/web", "tags": ["1.0.0"]}]});
    let (s, e) = a.send(M::POST, &path, Some(body.clone())).await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(e["name"], "Gold");
    assert_eq!(e["expires_at"], "2027-01-31T00:00:00Z");
    assert_eq!(
        e["artifacts"],
        json!([{"artifact": "web", "tags": "all"}, {"artifact": "charts/web", "tags": ["1.0.0"]}])
    );
    let eid = e["id"].as_i64().unwrap();

    // Every validation error, by field; nothing saved.
    let (s, dup) = a.send(M::POST, &path, Some(body.clone())).await;
    assert_eq!((s, dup["error"]["fields"]["name"].is_string()), (409, true));
    for (bad, field) in [
        (
            json!({"name": "", "artifacts": [{"artifact": "web", "tags": "all"}]}),
            "name",
        ),
        (json!({"name": "X", "artifacts": []}), "artifacts"),
        (
            json!({"name": "X", "artifacts": [{"artifact": "web", "tags": "all"}, {"artifact": "web", "tags": ["1.0"]}]}),
            "artifacts[1].artifact",
        ),
        (
            json!({"name": "X", "artifacts": [{"artifact": "web", "tags": []}]}),
            "artifacts[0].tags",
        ),
        (
            json!({"name": "X", "artifacts": [{"artifact": "nope", "tags": "all"}]}),
            "artifacts[0].artifact",
        ),
        (
            json!({"name": "X", "artifacts": [{"artifact": "web", "tags": ["9.9"]}]}),
            "artifacts[0].tags",
        ),
    ] {
        let (s, e) = a.send(M::POST, &path, Some(bad)).await;
        assert_eq!(s, 422, "{field}: {e}");
        assert!(e["error"]["fields"][field].is_string(), "{field}: {e}");
    }
    let (_, list) = a.send(M::GET, &path, None).await;
    assert_eq!(list["entitlements"].as_array().unwrap().len(), 1);
    assert_eq!(
        a.send(M::GET, &format!("{path}?q=charts"), None).await.1["entitlements"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        a.send(M::GET, &format!("{path}?q=gol"), None).await.1["entitlements"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        a.send(M::GET, &format!("{path}?q=zzz"), None).await.1["entitlements"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Replace, read back.
    let (s, e) = a
        .send(M::PUT, &format!("/api/v1/entitlements/{eid}"), Some(json!({"name": "Silver", "expires_at": null, "artifacts": [{"artifact": "web", "tags": ["1.0", "1.1"]}]})))
        .await;
    assert_eq!(
        (s, e["name"].clone(), e["expires_at"].clone()),
        (200, json!("Silver"), Value::Null)
    );
    assert_eq!(
        a.send(M::GET, &format!("/api/v1/entitlements/{eid}"), None)
            .await
            .1["artifacts"],
        json!([{"artifact": "web", "tags": ["1.0", "1.1"]}])
    );

    // Roles and orgs.
    app.cli(
        &[
            "admin",
            "create-org",
            "--slug",
            "beta",
            "--name",
            "Beta",
            "--admin-email",
            "b@beta.test",
            "--plan",
            "pro",
        ],
        "beta password\n",
    );
    let b = api(&app, &app.token("b@beta.test", &[]));
    assert_eq!(
        b.send(M::GET, &format!("/api/v1/entitlements/{eid}"), None)
            .await
            .0,
        404
    );
    assert_eq!(b.send(M::GET, &path, None).await.0, 404);
    assert_eq!(
        b.send(M::DELETE, &format!("/api/v1/entitlements/{eid}"), None)
            .await
            .0,
        404
    );
    let web = app.signed_in(ADMIN, "admin password").await;
    app.call(
        &web,
        "add_vendor_user",
        &[
            ("email", "ro@acme.test"),
            ("password", "read only pw"),
            ("role", "read_only"),
        ],
    )
    .await;
    let ro = api(&app, &app.token("ro@acme.test", &[]));
    assert_eq!(ro.send(M::GET, &path, None).await.0, 200);
    assert_eq!(ro.send(M::POST, &path, Some(body.clone())).await.0, 403);

    // Community plan: changes refused with a clear error, entitlements kept.
    assert!(app
        .cli(
            &["admin", "set-plan", "--org", "acme", "--plan", "community"],
            ""
        )
        .status
        .success());
    let (s, e) = a
        .send(
            M::POST,
            &path,
            Some(json!({"name": "New", "artifacts": [{"artifact": "web", "tags": "all"}]})),
        )
        .await;
    assert_eq!((s, e["error"]["code"].clone()), (403, json!("plan")));
    assert!(e["error"]["message"].as_str().unwrap().contains("Pro"));
    assert_eq!(
        a.send(M::DELETE, &format!("/api/v1/entitlements/{eid}"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        a.send(M::GET, &format!("/api/v1/entitlements/{eid}"), None)
            .await
            .0,
        200
    );

    // Back on Pro: delete.
    assert!(app
        .cli(&["admin", "set-plan", "--org", "acme", "--plan", "pro"], "")
        .status
        .success());
    assert_eq!(
        a.send(M::DELETE, &format!("/api/v1/entitlements/{eid}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        a.send(M::GET, &format!("/api/v1/entitlements/{eid}"), None)
            .await
            .0,
        404
    );
}
