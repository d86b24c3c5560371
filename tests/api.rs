//! The JSON API (SPEC §8) on a real server: bearer and session auth,
//! shapes, validation, roles and cross-org isolation.

mod common;

use common::registry::Reg;
use common::{Api, TestApp};
use serde_json::{json, Value};

const ADMIN: &str = "a@acme.test";

#[tokio::test]
async fn customers_tokens_and_me_over_the_api() {
    use reqwest::Method as M;
    let app = TestApp::start();
    app.create_org("acme", ADMIN, "admin password");
    let a = app.api(&app.token(ADMIN, &[]));

    let (s, me) = a.send(M::GET, "/api/v1/me", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (me["email"].clone(), me["kind"].clone(), me["role"].clone()),
        (json!(ADMIN), json!("vendor"), json!("admin"))
    );
    assert_eq!(me["org"]["slug"], "acme");

    // No or bad credentials: 401 with the JSON error shape.
    let anon = Api::anonymous(&app);
    let (s, e) = anon.send(M::GET, "/api/v1/me", None).await;
    assert_eq!(
        (s, e["error"]["code"].clone()),
        (401, json!("unauthenticated"))
    );
    let (s, _) = app
        .api("pcl_wrong")
        .send(M::GET, "/api/v1/customers", None)
        .await;
    assert_eq!(s, 401);

    // Customers: validation, create, conflict, list, get, rename, users.
    let create = |body: Value| a.send(M::POST, "/api/v1/customers", Some(body));
    let (s, e) = create(json!({"name": ""})).await;
    assert_eq!((s, e["error"]["fields"]["name"].is_string()), (422, true));
    let (s, e) = create(json!({"nom": "x"})).await;
    assert_eq!((s, e["error"]["code"].clone()), (400, json!("bad_request")));
    let (s, c) = create(json!({"name": "Globex"})).await;
    assert_eq!(s, 201);
    let id = c["id"].as_i64().unwrap();
    let users = format!("/api/v1/customers/{id}/users");
    let add_user = |body: Value| a.send(M::POST, &users, Some(body));
    let (s, e) = create(json!({"name": "Globex"})).await;
    assert_eq!((s, e["error"]["fields"]["name"].is_string()), (409, true));
    let (_, list) = a.send(M::GET, "/api/v1/customers?q=glo", None).await;
    assert_eq!(list["customers"][0]["name"], "Globex");
    let (s, u) =
        add_user(json!({"email": "c@globex.test", "password": "customer pw", "role": "member"}))
            .await;
    assert_eq!(
        (s, u["email"].clone(), u["role"].clone()),
        (201, json!("c@globex.test"), json!("member"))
    );
    let (s, e) = add_user(json!({"email": "bad", "password": "x", "role": "owner"})).await;
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
    let create_token = |label: &str, expires_at: &str| {
        let body = json!({"label": label, "expires_at": expires_at});
        a.send(M::POST, "/api/v1/tokens", Some(body))
    };
    let (s, t) = create_token("ci", "2099-01-01T00:00:00Z").await;
    assert_eq!(s, 201);
    let secret = t["secret"].as_str().unwrap().to_owned();
    let (_, listed) = a.send(M::GET, "/api/v1/tokens", None).await;
    assert!(!listed.to_string().contains(&secret));
    let ci = app.api(&secret);
    assert_eq!(ci.send(M::GET, "/api/v1/me", None).await.0, 200);
    a.delete_token(&t["token"]["id"]).await;
    assert_eq!(ci.send(M::GET, "/api/v1/me", None).await.0, 401);
    let (s, e) = create_token("old", "2001-01-01T00:00:00Z").await;
    assert_eq!(
        (s, e["error"]["fields"]["expires_at"].is_string()),
        (422, true)
    );

    // Customer users are refused; another org's customer is not found.
    let cust = app.api(&app.token("c@globex.test", &[]));
    assert_eq!(
        cust.send(M::GET, "/api/v1/me", None).await.1["customer"]["name"],
        "Globex Corp"
    );
    assert_eq!(cust.send(M::GET, "/api/v1/customers", None).await.0, 403);
    assert_eq!(
        cust.send(M::GET, "/api/v1/artifacts", None).await.1,
        json!({"artifacts": [], "next": null})
    );
    app.create_org("beta", "b@beta.test", "beta password");
    let b = app.api(&app.token("b@beta.test", &[]));
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
    let app = TestApp::start();
    app.create_org("acme", ADMIN, "admin password");
    let web = app.signed_in(ADMIN, "admin password").await;
    let r = web.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["email"], ADMIN);
}

#[tokio::test]
async fn entitlements_over_the_api() {
    use reqwest::Method as M;
    let app = TestApp::start();
    app.create_org_with("acme", ADMIN, "admin password", &["--plan", "pro"]);
    let token = app.token(ADMIN, &[]);
    let a = app.api(&token);
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
    let entitlement = format!("/api/v1/entitlements/{eid}");

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
        .send(M::PUT, &entitlement, Some(json!({"name": "Silver", "expires_at": null, "artifacts": [{"artifact": "web", "tags": ["1.0", "1.1"]}]})))
        .await;
    assert_eq!(
        (s, e["name"].clone(), e["expires_at"].clone()),
        (200, json!("Silver"), Value::Null)
    );
    assert_eq!(
        a.send(M::GET, &entitlement, None).await.1["artifacts"],
        json!([{"artifact": "web", "tags": ["1.0", "1.1"]}])
    );

    // Roles and orgs.
    app.create_org_with("beta", "b@beta.test", "beta password", &["--plan", "pro"]);
    let b = app.api(&app.token("b@beta.test", &[]));
    assert_eq!(b.send(M::GET, &entitlement, None).await.0, 404);
    assert_eq!(b.send(M::GET, &path, None).await.0, 404);
    assert_eq!(b.send(M::DELETE, &entitlement, None).await.0, 404);
    let web = app.signed_in(ADMIN, "admin password").await;
    app.add_vendor_user(&web, "ro@acme.test", "read only pw", "read_only")
        .await;
    let ro = app.api(&app.token("ro@acme.test", &[]));
    assert_eq!(ro.send(M::GET, &path, None).await.0, 200);
    assert_eq!(ro.send(M::POST, &path, Some(body.clone())).await.0, 403);

    // Community plan: changes refused with a clear error, entitlements kept.
    app.set_plan("acme", "community");
    let (s, e) = a
        .send(
            M::POST,
            &path,
            Some(json!({"name": "New", "artifacts": [{"artifact": "web", "tags": "all"}]})),
        )
        .await;
    assert_eq!((s, e["error"]["code"].clone()), (403, json!("plan")));
    assert!(e["error"]["message"].as_str().unwrap().contains("Pro"));
    assert_eq!(a.send(M::DELETE, &entitlement, None).await.0, 403);
    assert_eq!(a.send(M::GET, &entitlement, None).await.0, 200);

    // Back on Pro: delete.
    app.set_plan("acme", "pro");
    assert_eq!(a.send(M::DELETE, &entitlement, None).await.0, 204);
    assert_eq!(a.send(M::GET, &entitlement, None).await.0, 404);

    // The audit trail: who did what, newest first, with before and after.
    let (st, trail) = a
        .send(M::GET, &format!("/api/v1/customers/{cid}/audit"), None)
        .await;
    assert_eq!(st, 200, "{trail}");
    let events = trail["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "entitlement_deleted",
            "entitlement_updated",
            "entitlement_created",
            "customer_created"
        ],
        "refused changes are not recorded: {trail}"
    );
    assert!(events.iter().all(|e| e["actor"] == ADMIN));
    assert_eq!(events[1]["before"]["name"], "Gold");
    assert_eq!(events[1]["after"]["name"], "Silver");
    assert_eq!(
        events[1]["after"]["artifacts"],
        json!([{"artifact": "web", "tags": ["1.0", "1.1"]}])
    );
    assert_eq!(events[0]["before"]["name"], "Silver");
    assert_eq!(events[0]["after"], json!(null));
    // Another org's vendor: not found.
    assert_eq!(
        b.send(M::GET, &format!("/api/v1/customers/{cid}/audit"), None)
            .await
            .0,
        404
    );
}

/// Every route the router serves under `/api/v1`, with its methods (SPEC §8).
/// A new route goes here and in `api::signed_in()` (or `api::routes()`).
const ROUTES: &[(&str, &[&str])] = &[
    ("/api/v1/openapi.json", &["get"]),
    ("/api/v1/me", &["get"]),
    ("/api/v1/tokens", &["get", "post"]),
    ("/api/v1/tokens/{id}", &["delete"]),
    ("/api/v1/customers", &["get", "post"]),
    ("/api/v1/customers/{id}", &["get", "patch", "delete"]),
    ("/api/v1/upstreams", &["get", "post"]),
    ("/api/v1/upstreams/{id}", &["get", "patch", "delete"]),
    ("/api/v1/upstreams/{id}/sync", &["post"]),
    ("/api/v1/customers/{id}/users", &["post"]),
    ("/api/v1/customers/{id}/audit", &["get"]),
    ("/api/v1/artifacts", &["get"]),
    ("/api/v1/pulls", &["get"]),
    ("/api/v1/customers/{id}/entitlements", &["get", "post"]),
    ("/api/v1/entitlements/{id}", &["get", "put", "delete"]),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Follows a local `$ref` (`#/components/...`) in the document.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => {
            let target = doc
                .pointer(r.strip_prefix('#').expect("a local $ref"))
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
            resolve(doc, target)
        }
        None => v,
    }
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    use std::collections::BTreeSet;
    let app = TestApp::start();
    let http = reqwest::Client::new();

    // Public: no org, no credentials.
    let resp = app.get(&http, "/api/v1/openapi.json").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers["content-type"], "application/json");
    let doc: Value = serde_json::from_str(&resp.text).expect("valid JSON");
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "openapi {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Exactly the routes and methods above.
    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().unwrap();
            METHODS
                .iter()
                .filter(|m| item.contains_key(**m))
                .map(move |m| (path.clone(), m.to_string()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|(p, ms)| ms.iter().map(move |m| (p.to_string(), m.to_string())))
        .collect();
    assert_eq!(documented, expected);

    // ... and the server serves exactly those: listed methods reach the
    // handler (401 without credentials), the others are 405.
    for (path, methods) in ROUTES {
        let url = app.url(&path.replace("{id}", "1"));
        for m in ["get", "post", "put", "patch", "delete"] {
            let method = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let status = http.request(method, &url).send().await.unwrap().status();
            let want = match (methods.contains(&m), *path == "/api/v1/openapi.json") {
                (true, true) => 200,
                (true, false) => 401,
                (false, _) => 405,
            };
            assert_eq!(status.as_u16(), want, "{m} {path}");
        }
    }

    // Every operation: path parameters declared, errors in the error shape,
    // authentication by bearer token or session cookie (the document itself
    // needs none).
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    for r in &all_refs {
        resolve(&doc, &json!({ "$ref": r }));
    }
    // Schemas are named after the API's types, and ids are plain integers (a
    // field typed `UserId` and the like needs `value_type = i64`, or the id
    // shows up as a schema of its own).
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            name.starts_with(|c: char| c.is_ascii_uppercase()) && !name.ends_with("Id"),
            "schema {name}"
        );
    }
    let error_body = json!({"$ref": "#/components/schemas/ErrorBody"});
    for (path, method) in &documented {
        let op = &doc["paths"][path][method];
        let id_params = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path" && p["name"] == "id" && p["required"] == true)
            .count();
        assert_eq!(
            id_params,
            usize::from(path.contains("{id}")),
            "{method} {path}"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}"
        );
        if path == "/api/v1/openapi.json" {
            assert!(op.get("security").is_none());
            continue;
        }
        let schemes: BTreeSet<&str> = op["security"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s.as_object().unwrap().keys().map(String::as_str))
            .collect();
        assert_eq!(
            schemes,
            BTreeSet::from(["bearer", "session"]),
            "{method} {path}"
        );
        assert!(responses.contains_key("401"), "{method} {path}");
        for (status, r) in responses {
            if !status.starts_with('2') {
                let r = resolve(&doc, r);
                assert_eq!(
                    r["content"]["application/json"]["schema"], error_body,
                    "{method} {path} {status}"
                );
            }
        }
    }
    let detail = resolve(
        &doc,
        &doc["components"]["schemas"]["ErrorBody"]["properties"]["error"],
    );
    for field in ["code", "message", "fields"] {
        assert!(detail["properties"].get(field).is_some(), "error.{field}");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(
        (
            schemes["session"]["in"].clone(),
            schemes["session"]["name"].clone()
        ),
        (json!("cookie"), json!("portcullis_session"))
    );

    // The entitlement body (SPEC §8), for both create and replace.
    for (path, method) in [
        ("/api/v1/customers/{id}/entitlements", "post"),
        ("/api/v1/entitlements/{id}", "put"),
    ] {
        let body = &doc["paths"][path][method]["requestBody"];
        let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
        for field in ["name", "expires_at", "artifacts"] {
            assert!(
                schema["properties"].get(field).is_some(),
                "{method} {path}: {field}"
            );
        }
        assert!(schema["required"]
            .as_array()
            .unwrap()
            .contains(&json!("name")));
        let grant = resolve(&doc, &schema["properties"]["artifacts"]["items"]);
        for field in ["artifact", "tags"] {
            assert!(
                grant["properties"].get(field).is_some(),
                "artifacts[].{field}"
            );
        }
    }
}
