//! Customers and their users on a real server: CRUD, validation, roles,
//! cross-org isolation, and that removal ends access at once.

mod common;

use common::registry::Reg;
use common::{client, TestApp};
use serde_json::json;

const ADMIN: &str = "a@acme.test";

#[tokio::test]
async fn vendors_manage_customers_and_their_users() {
    let app = TestApp::start();
    app.create_org("acme", ADMIN, "admin password");
    let web = app.signed_in(ADMIN, "admin password").await;

    let bad = app.call(&web, "create_customer", &[("name", "  ")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body["Invalid"]["fields"]["name"].is_string());
    let made = app
        .call_ok(&web, "create_customer", &[("name", "Globex")])
        .await;
    let id = made.body.as_i64().unwrap();
    assert_eq!(made.headers["location"], format!("/licenses/{id}").as_str());
    let dup = app
        .call(&web, "create_customer", &[("name", "Globex")])
        .await;
    assert_eq!(
        (dup.status, dup.body["Conflict"]["field"].clone()),
        (409, json!("name"))
    );
    app.call(&web, "create_customer", &[("name", "Initech")])
        .await;

    let all = app.call(&web, "list_customers", &[]).await;
    let names: Vec<&str> = all.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Globex", "Initech"]);
    let found = app.call(&web, "list_customers", &[("q", "glo")]).await;
    assert_eq!(found.body["customers"].as_array().unwrap().len(), 1);

    let id_s = id.to_string();
    let bad_user = app
        .call(
            &web,
            "add_customer_user",
            &[
                ("customer_id", &id_s),
                ("email", "nope"),
                ("password", "short"),
                ("role", "boss"),
            ],
        )
        .await;
    assert_eq!(bad_user.status, 400);
    for f in ["email", "password", "role"] {
        assert!(bad_user.body["Invalid"]["fields"][f].is_string(), "{f}");
    }
    app.call_ok(
        &web,
        "add_customer_user",
        &[
            ("customer_id", &id_s),
            ("email", "c@globex.test"),
            ("password", "customer pw"),
            ("role", "admin"),
        ],
    )
    .await;
    let taken = app
        .call(
            &web,
            "add_customer_user",
            &[
                ("customer_id", &id_s),
                ("email", ADMIN),
                ("password", "customer pw"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(taken.status, 409);

    let detail = app.call(&web, "get_customer", &[("id", &id_s)]).await;
    assert_eq!(detail.body["customer"]["name"], "Globex");
    assert_eq!(detail.body["users"][0]["email"], "c@globex.test");
    assert_eq!(detail.body["users"][0]["role"], "admin");
    assert!(
        !detail.body.to_string().contains("argon2"),
        "no hashes leave the server"
    );

    let renamed = app
        .call(
            &web,
            "rename_customer",
            &[("id", &id_s), ("name", "Initech")],
        )
        .await;
    assert_eq!(renamed.status, 409);
    app.call_ok(
        &web,
        "rename_customer",
        &[("id", &id_s), ("name", "Globex Corp")],
    )
    .await;

    // The customer user signs in to the portal and uses a token.
    let cust = app.signed_in("c@globex.test", "customer pw").await;
    assert_eq!(app.call(&cust, "list_customers", &[]).await.status, 403);
    let token = app.token("c@globex.test", &[]);
    let reg = Reg::new(&app.base, "c@globex.test", &token);
    assert_eq!(reg.status(reqwest::Method::GET, "/v2/").await, 200);

    // Removing the user ends its token and session at once.
    let uid = detail.body["users"][0]["id"].to_string();
    app.call_ok(
        &web,
        "remove_customer_user",
        &[("customer_id", &id_s), ("user_id", &uid)],
    )
    .await;
    assert_eq!(reg.status(reqwest::Method::GET, "/v2/").await, 401);
    assert_eq!(app.call(&cust, "get_me", &[]).await.body, json!(null));

    // Delete asks for the name, then removes the customer.
    let wrong = app
        .call(
            &web,
            "delete_customer",
            &[("id", &id_s), ("confirm", "Globex")],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body["Invalid"]["fields"]["confirm"].is_string());
    let deleted = app
        .call_ok(
            &web,
            "delete_customer",
            &[("id", &id_s), ("confirm", "Globex Corp")],
        )
        .await;
    assert_eq!(deleted.headers["location"], "/licenses");
    assert_eq!(
        app.call(&web, "get_customer", &[("id", &id_s)])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn roles_and_orgs_are_enforced_for_customers() {
    let app = TestApp::start();
    app.create_org("acme", ADMIN, "admin password");
    app.create_org("beta", "b@beta.test", "beta password");
    let web = app.signed_in(ADMIN, "admin password").await;
    let id = app
        .call(&web, "create_customer", &[("name", "Globex")])
        .await
        .body
        .as_i64()
        .unwrap()
        .to_string();
    app.add_vendor_user(&web, "ro@acme.test", "read only pw", "read_only")
        .await;

    let ro = app.signed_in("ro@acme.test", "read only pw").await;
    let listed = app.call(&ro, "list_customers", &[]).await;
    assert_eq!(
        (listed.status, listed.body["can_write"].clone()),
        (200, json!(false))
    );
    app.call_ok(&ro, "get_customer", &[("id", &id)]).await;
    let delete = (
        "delete_customer",
        vec![("id", id.as_str()), ("confirm", "Globex")],
    );
    let add_user = (
        "add_customer_user",
        vec![
            ("customer_id", id.as_str()),
            ("email", "x@x.test"),
            ("password", "long enough"),
            ("role", "member"),
        ],
    );
    let calls = [
        ("create_customer", vec![("name", "X")]),
        ("rename_customer", vec![("id", id.as_str()), ("name", "X")]),
        delete.clone(),
        add_user.clone(),
        (
            "remove_customer_user",
            vec![("customer_id", id.as_str()), ("user_id", "1")],
        ),
    ];
    app.calls_answer(&ro, &calls, 403, json!("Forbidden")).await;

    // Another org's customer is answered as not found everywhere.
    let beta = app.signed_in("b@beta.test", "beta password").await;
    assert!(
        app.call(&beta, "list_customers", &[]).await.body["customers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let calls = [
        ("get_customer", vec![("id", id.as_str())]),
        (
            "rename_customer",
            vec![("id", id.as_str()), ("name", "Mine")],
        ),
        delete,
        add_user,
    ];
    app.calls_answer(&beta, &calls, 404, json!("NotFound"))
        .await;
    // Signed out: refused.
    assert_eq!(app.call(&client(), "list_customers", &[]).await.status, 401);
    // The Licenses pages are console pages.
    let page = app.get(&web, &format!("/licenses/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Globex"));
    assert_eq!(app.get_status(&client(), "/licenses").await, 303);

    // A page about a customer that is not there, is another org's, or whose
    // address names none (not a number) is a not-found page, answered 404
    // also to a browser (which accepts text/html).
    const CUSTOMER: &str = "Customer not found";
    let pages = [
        (&beta, format!("/licenses/{id}"), CUSTOMER),
        (&beta, format!("/licenses/{id}/entitlements"), CUSTOMER),
        (&web, "/licenses/999999".into(), CUSTOMER),
        (&web, "/licenses/999999/entitlements".into(), CUSTOMER),
        (&web, "/licenses/not-a-number".into(), CUSTOMER),
        (&web, "/licenses/not-a-number/entitlements".into(), CUSTOMER),
        (&web, "/upstreams/999999".into(), "Mirror not found"),
        (&web, "/upstreams/not-a-number".into(), "Mirror not found"),
    ];
    for (who, path, title) in pages {
        for accept in ["*/*", "text/html,application/xhtml+xml"] {
            let r = who
                .get(app.url(&path))
                .header("Accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "{path} ({accept})");
            let text = r.text().await.unwrap();
            assert!(text.contains(title), "{path} ({accept}): {text}");
            assert!(!text.contains("Globex"), "{path} ({accept})");
        }
    }
}
