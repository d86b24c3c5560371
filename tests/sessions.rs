//! Sessions and tokens that must end (issue 10): a removed user's cookie never
//! becomes a later user's, a role change ends the user's sessions, a token
//! made with a token ends with it, and an `/events` stream ends when its
//! session signs out.

mod common;

use common::registry::Reg;
use common::{Api, TestApp};
use reqwest::Method as M;
use serde_json::{json, Value};
use std::time::Duration;

/// `GET /api/v1/me` with a client's cookie: (status, body).
async fn me(app: &TestApp, client: &reqwest::Client) -> (u16, Value) {
    let r = client.get(app.url("/api/v1/me")).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn session_rows(app: &TestApp) -> i64 {
    let store = app.store().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_removed_customer_users_cookie_does_not_become_a_new_vendor_admin() {
    let app = TestApp::start();
    app.create_org("acme", "a@acme.test", "admin password");
    let api = Api::new(&app, &app.token("a@acme.test", &[]));
    let admin = app.signed_in("a@acme.test", "admin password").await;
    let (customer, user) = api
        .customer("Globex", "c@globex.test", "globex password")
        .await;

    let old = app.signed_in("c@globex.test", "globex password").await;
    assert_eq!(me(&app, &old).await.0, 200);
    let before = session_rows(&app).await;
    app.call_ok(
        &admin,
        "remove_customer_user",
        &[
            ("customer_id", &customer.to_string()),
            ("user_id", &user.to_string()),
        ],
    )
    .await;
    assert_eq!(
        session_rows(&app).await,
        before - 1,
        "the removed user's session is deleted with it"
    );
    assert_eq!(me(&app, &old).await.0, 401);

    // A new vendor admin: SQLite would hand it the removed user's id.
    let added = app
        .add_vendor_user(&admin, "new-admin@acme.test", "long enough", "admin")
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let (status, body) = me(&app, &old).await;
    assert_eq!(status, 401, "the old cookie reads as {body}");
    let r = app.get(&old, "/api/v1/customers").await;
    assert_eq!(r.status, 401);
    // Nor do pages or server functions take it.
    let r = app.get(&old, "/licenses").await;
    assert_eq!(r.status, 303);
    assert!(r.headers["location"]
        .to_str()
        .unwrap()
        .starts_with("/signin"));
    assert_eq!(app.call(&old, "load_settings", &[]).await.status, 401);

    // The new admin has an id nobody had before.
    let users = app.call(&admin, "load_settings", &[]).await.body["users"].clone();
    let new_id = common::user_id(&users, "new-admin@acme.test");
    assert!(new_id > user, "id {new_id} reused (removed: {user})");
}

#[tokio::test]
async fn a_deleted_customers_cookie_does_not_read_another_orgs_customer() {
    let app = TestApp::start();
    app.create_org("acme", "a@acme.test", "admin password");
    app.create_org("beta", "b@beta.test", "beta password");
    for slug in ["acme", "beta"] {
        let out = app.cli(&["admin", "set-plan", "--org", slug, "--plan", "pro"], "");
        assert!(out.status.success());
    }
    let acme = Api::new(&app, &app.token("a@acme.test", &[]));
    let beta_token = app.token("b@beta.test", &[]);
    let beta = Api::new(&app, &beta_token);
    // Something of beta's that beta's customers see (no entitlements: all).
    let reg = Reg::new(&app.base, "b@beta.test", &beta_token);
    reg.push_image("beta/secret", "1.0", &[b"beta's layer"])
        .await;

    let (customer, user) = acme
        .customer("Globex", "c@globex.test", "globex password")
        .await;
    let old = app.signed_in("c@globex.test", "globex password").await;
    assert_eq!(me(&app, &old).await.0, 200);
    acme.ok(M::DELETE, &format!("/api/v1/customers/{customer}"), None)
        .await;
    assert_eq!(me(&app, &old).await.0, 401);

    // Beta adds a customer user: SQLite would reuse both ids.
    let (beta_customer, beta_user) = beta
        .customer("Initech", "i@initech.test", "initech password")
        .await;
    let (status, body) = me(&app, &old).await;
    assert_eq!(status, 401, "the old cookie reads as {body}");
    let r = app.get(&old, "/api/v1/artifacts").await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(!r.text.contains("secret"));
    let r = app.get(&old, "/portal").await;
    assert_eq!(r.status, 303);
    // Beta's own customer sees it.
    let initech = app.signed_in("i@initech.test", "initech password").await;
    let r = app.get(&initech, "/api/v1/artifacts").await;
    assert!(r.text.contains("secret"));
    assert!(
        beta_user > user && beta_customer > customer,
        "ids reused: user {beta_user}, customer {beta_customer}"
    );
}

#[tokio::test]
async fn a_role_change_ends_the_users_sessions() {
    let app = TestApp::start();
    app.create_org("acme", "a@acme.test", "admin password");
    let admin = app.signed_in("a@acme.test", "admin password").await;
    let added = app
        .add_vendor_user(&admin, "rw@acme.test", "long enough", "read_write")
        .await;
    assert_eq!(added.status, 200);
    let rw = app.signed_in("rw@acme.test", "long enough").await;
    let (status, body) = me(&app, &rw).await;
    assert_eq!((status, body["role"].clone()), (200, json!("read_write")));
    let id = body["id"].to_string();

    let changed = app
        .change_vendor_role(&admin, id.as_str(), "read_only")
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(me(&app, &rw).await.0, 401, "the old session ended");
    assert_eq!(app.call(&rw, "load_settings", &[]).await.status, 401);
    // Signing in again gives the new role.
    let again = app.signed_in("rw@acme.test", "long enough").await;
    assert_eq!(me(&app, &again).await.1["role"], "read_only");

    // An admin who changes its own role stays signed in, with the new role.
    let promoted = app.change_vendor_role(&admin, id.as_str(), "admin").await;
    assert_eq!(promoted.status, 200);
    let my_id = me(&app, &admin).await.1["id"].to_string();
    let demoted = app
        .change_vendor_role(&admin, my_id.as_str(), "read_only")
        .await;
    assert_eq!(demoted.status, 200, "{}", demoted.body);
    let (status, body) = me(&app, &admin).await;
    assert_eq!((status, body["role"].clone()), (200, json!("read_only")));
}

#[tokio::test]
async fn a_token_made_with_a_token_ends_with_it() {
    let app = TestApp::start();
    app.create_org("acme", "a@acme.test", "admin password");
    let parent = app.token("a@acme.test", &["--expires-in", "1m"]);
    let parent_api = Api::new(&app, &parent);
    let tokens = parent_api.ok(M::GET, "/api/v1/tokens", None).await;
    let parent_info = tokens["tokens"][0].clone();
    let parent_expiry: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(parent_info["expires_at"].clone()).unwrap();

    // Asked for no expiry, or a later one: it gets the parent's.
    let later = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    for body in [
        json!({"label": "child"}),
        json!({"label": "later", "expires_at": later}),
    ] {
        let made = parent_api
            .ok(M::POST, "/api/v1/tokens", Some(body.clone()))
            .await;
        let expiry: Option<chrono::DateTime<chrono::Utc>> =
            serde_json::from_value(made["token"]["expires_at"].clone()).unwrap();
        assert!(
            expiry.is_some_and(|e| e <= parent_expiry),
            "{body}: {expiry:?} is after the parent's {parent_expiry}"
        );
    }
    // An earlier expiry is kept.
    let sooner = chrono::Utc::now() + chrono::Duration::seconds(30);
    let made = parent_api
        .ok(
            M::POST,
            "/api/v1/tokens",
            Some(json!({"label": "sooner", "expires_at": sooner.to_rfc3339()})),
        )
        .await;
    let expiry: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(made["token"]["expires_at"].clone()).unwrap();
    assert!((expiry - sooner).num_seconds().abs() <= 1);

    // A grandchild, through a child.
    let child = parent_api
        .ok(M::POST, "/api/v1/tokens", Some(json!({"label": "child 2"})))
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let child_api = Api::new(&app, &child);
    let grandchild = child_api
        .ok(
            M::POST,
            "/api/v1/tokens",
            Some(json!({"label": "grandchild"})),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // Both work: API and registry.
    let reg = Reg::new(&app.base, "a@acme.test", &parent);
    reg.push_image("acme/app", "1.0", &[b"layer"]).await;
    // A token's statuses: (the API's `me`, a pull).
    let statuses = |t: &str| {
        let (api, reg) = (Api::new(&app, t), Reg::new(&app.base, "a@acme.test", t));
        async move {
            let me = api.send(M::GET, "/api/v1/me", None).await.0;
            (me, reg.status(M::GET, "/v2/acme/app/manifests/1.0").await)
        }
    };
    for t in [&child, &grandchild] {
        assert_eq!(statuses(t).await, (200, 200));
    }

    // Revoking the parent (with its own secret) revokes its descendants.
    let id = parent_info["id"].as_i64().unwrap();
    parent_api.delete_token(id).await;
    for t in [&parent, &child, &grandchild] {
        assert_eq!(statuses(t).await, (401, 401));
    }
    // And none is listed any more.
    let web = app.signed_in("a@acme.test", "admin password").await;
    let r = web.get(app.url("/api/v1/tokens")).send().await.unwrap();
    let list: Value = r.json().await.unwrap();
    let labels: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, Vec::<&str>::new(), "{list}");
}

#[tokio::test]
async fn an_event_stream_ends_when_its_session_signs_out() {
    let app = TestApp::start();
    app.create_org("acme", "a@acme.test", "admin password");
    let web = app.signed_in("a@acme.test", "admin password").await;
    let mut resp = app.events(&web).await;
    // The first block arrives: the stream is open.
    let first = tokio::time::timeout(Duration::from_secs(20), resp.chunk())
        .await
        .expect("hello within 20 s")
        .unwrap()
        .expect("a first block");
    assert!(String::from_utf8_lossy(&first).contains("retry: 1000"));

    let out = app.call(&web, "sign_out", &[]).await;
    assert!(out.status < 400, "{}", out.status);
    // Read until the end; the timeout only bounds a failure.
    let mut rest = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = resp.chunk().await.unwrap() {
            rest.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream still runs after sign-out: {rest:?}"
    );
    assert!(rest.contains("signed_out"), "{rest:?}");
}

#[tokio::test]
async fn a_page_render_looks_up_its_caller_once() {
    // Every SQL statement in the log, to count the caller's lookups.
    let app = TestApp::spawn_with_env(&[("PORTCULLIS_LOG", "info,sqlx::query=debug")]);
    app.create_org("acme", "a@acme.test", "admin password");
    let admin = app.signed_in("a@acme.test", "admin password").await;
    let before = app.statements("LEFT JOIN customers c ON").await;
    // The guard, the organization's settings and the token list: three
    // parts of one request that each need to know who is calling.
    let page = app.get(&admin, "/settings").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("a@acme.test"), "{}", page.text);
    let during = app.statements("LEFT JOIN customers c ON").await - before;
    assert_eq!(during, 1, "the caller was looked up {during} times");
}
