//! One-time set-password links on a real server: created through the JSON
//! API and the console's form (the server function as JSON and as a plain form post), used once,
//! refused when used or expired, and no sign-in before the password is set.

mod common;

use common::{client, Api, TestApp};
use serde_json::{json, Value};

const ADMIN: &str = "a@acme.test";
const PUBLIC: &str = "http://registry.example.test:5000";
const LINK_INVALID: &str = "This link is not valid";

/// An org with a customer; the admin's API and the customer's id.
async fn setup(app: &TestApp) -> (Api, i64) {
    app.create_org("acme", ADMIN, "admin password");
    let api = app.api(&app.token(ADMIN, &[]));
    let customer = api.create_customer("Globex").await;
    (api, customer)
}

/// The secret of a link given out as `{PUBLIC}/set-password/{secret}`.
fn secret_of(url: &Value) -> String {
    let url = url.as_str().expect("a set_password_url");
    url.strip_prefix(&format!("{PUBLIC}/set-password/"))
        .unwrap_or_else(|| panic!("unexpected link {url}"))
        .to_owned()
}

#[tokio::test]
async fn a_link_from_the_api_sets_the_password_once() {
    use reqwest::Method as M;
    let app = TestApp::spawn_with_env(&[
        ("PORTCULLIS_PUBLIC_URL", PUBLIC),
        // Request paths are logged at debug level: the secret must not be.
        ("PORTCULLIS_LOG", "info,tower_http=debug"),
    ]);
    let (api, cid) = setup(&app).await;
    let users = format!("/api/v1/customers/{cid}/users");
    let add_user = |body: Value| api.send(M::POST, &users, Some(body));

    // Validation: same fields and messages as the form, 422.
    let (s, e) = add_user(json!({"email": "c@globex.test", "role": "member"})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(
        e["error"]["fields"]["password"],
        "A password has at least 8 characters."
    );
    let (s, e) = add_user(json!({"email": "c@globex.test", "role": "member", "password": "long enough", "invite": true})).await;
    assert_eq!(
        (s, e["error"]["fields"]["invite"].is_string()),
        (422, true),
        "{e}"
    );
    let (s, e) = add_user(json!({"email": "nope", "role": "boss", "invite": true})).await;
    assert_eq!(s, 422);
    let fields: Vec<&String> = e["error"]["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["email", "role"]);

    // The contract of SPEC §8 is unchanged: a password, and no link.
    let (s, u) =
        add_user(json!({"email": "p@globex.test", "password": "long enough", "role": "member"}))
            .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(u.get("set_password_url"), None);

    // `"invite": true` without a password: a link, answered once.
    let (s, u) = add_user(
        json!({"email": "c@globex.test", "role": "admin", "password": null, "invite": true}),
    )
    .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(
        (u["email"].clone(), u["role"].clone()),
        (json!("c@globex.test"), json!("admin"))
    );
    let secret = secret_of(&u["set_password_url"]);
    assert_eq!(secret.len(), 64);
    assert!(u["set_password_expires_at"].is_string());
    let (s, dup) =
        add_user(json!({"email": "c@globex.test", "role": "admin", "invite": true})).await;
    assert_eq!(
        (s, dup["error"]["fields"]["email"].is_string()),
        (409, true)
    );

    // Only the hash is stored.
    let store = app.store().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT secret_hash FROM password_links")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(stored, [domain::password_links::hash_secret(&secret)]);

    // No sign-in before the password is set (and no 500 either).
    let web = client();
    for pw in ["", "!unset", "long enough"] {
        let r = app.sign_in(&web, "c@globex.test", pw).await;
        assert_eq!(r.status, 401, "{pw:?}: {}", r.body);
    }

    // The public page shows the email, signed out.
    let page = app.get(&client(), &format!("/set-password/{secret}")).await;
    assert_eq!(page.status, 200);
    let html = page.text;
    assert!(html.contains("c@globex.test"), "{html}");
    assert!(html.contains("Set your password"));

    // Field errors next to the fields; the link stays usable.
    let set = |password: &'static str, confirm: &'static str| {
        let (app, web, secret) = (&app, &web, secret.clone());
        async move {
            app.call(
                web,
                "set_password",
                &[
                    ("secret", &secret),
                    ("password", password),
                    ("confirm", confirm),
                ],
            )
            .await
        }
    };
    let short = set("short", "short").await;
    assert_eq!(short.status, 400);
    assert!(
        short.body["Invalid"]["fields"]["password"].is_string(),
        "{}",
        short.body
    );
    let mismatch = set("customer password", "customer passwort").await;
    assert_eq!(
        mismatch.body["Invalid"]["fields"]["confirm"],
        "The two passwords do not match."
    );

    // Set: signed in, sent to the portal.
    let done = set("customer password", "customer password").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.headers["location"], "/portal");
    let me = app.call(&web, "get_me", &[]).await;
    assert_eq!(
        (me.body["kind"].clone(), me.body["email"].clone()),
        (json!("customer"), json!("c@globex.test"))
    );
    let portal = app.get(&web, "/portal").await;
    assert_eq!(portal.status, 200);

    // Used: refused, with the same message as an unknown link.
    let again = set("another password", "another password").await;
    assert_eq!(again.status, 400);
    assert!(
        again.body.to_string().contains(LINK_INVALID),
        "{}",
        again.body
    );
    let unknown = app
        .call(
            &client(),
            "set_password",
            &[
                ("secret", "0123"),
                ("password", "another password"),
                ("confirm", "another password"),
            ],
        )
        .await;
    assert_eq!(unknown.body, again.body);
    for s in [secret.as_str(), "0123"] {
        let info = app
            .call(&client(), "get_password_link", &[("secret", s)])
            .await;
        assert_eq!(info.status, 404);
        let html = app.get_text(&client(), &format!("/set-password/{s}")).await;
        assert!(html.contains(LINK_INVALID), "{html}");
        assert!(!html.contains("c@globex.test"));
    }

    // The password is the one set; the other user is untouched.
    assert_eq!(
        app.sign_in(&client(), "c@globex.test", "customer password")
            .await
            .status,
        200
    );
    assert_eq!(
        app.sign_in(&client(), "c@globex.test", "another password")
            .await
            .status,
        401
    );
    assert_eq!(
        app.sign_in(&client(), "p@globex.test", "long enough")
            .await
            .status,
        200
    );
    app.sync_logs().await;
    let logs = app.logs();
    assert!(logs.contains("/set-password/<redacted>"), "{logs}");
    assert!(!logs.contains(&secret), "the secret is never logged");
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    use reqwest::Method as M;
    let app = TestApp::spawn_with_env(&[("PORTCULLIS_PUBLIC_URL", PUBLIC)]);
    let (api, cid) = setup(&app).await;
    let (s, u) = api
        .send(
            M::POST,
            &format!("/api/v1/customers/{cid}/users"),
            Some(json!({"email": "late@globex.test", "role": "member", "invite": true})),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let secret = secret_of(&u["set_password_url"]);
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(u["set_password_expires_at"].clone()).unwrap();
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!(
        (167..=168).contains(&days),
        "valid 7 days, not {days} hours"
    );

    let store = app.store().await;
    sqlx::query("UPDATE password_links SET expires_at = ?")
        .bind(chrono::Utc::now() - chrono::Duration::minutes(1))
        .execute(store.pool())
        .await
        .unwrap();
    let web = client();
    let info = app
        .call(&web, "get_password_link", &[("secret", &secret)])
        .await;
    assert_eq!(info.status, 404);
    let set = app
        .call(
            &web,
            "set_password",
            &[
                ("secret", &secret),
                ("password", "late password"),
                ("confirm", "late password"),
            ],
        )
        .await;
    assert_eq!(set.status, 400);
    assert!(set.body.to_string().contains(LINK_INVALID), "{}", set.body);
    assert_eq!(app.call(&web, "get_me", &[]).await.body, Value::Null);
    assert_eq!(
        app.sign_in(&client(), "late@globex.test", "late password")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn the_console_form_offers_a_link_with_and_without_javascript() {
    let app = TestApp::spawn_with_env(&[("PORTCULLIS_PUBLIC_URL", PUBLIC)]);
    let (_, cid) = setup(&app).await;
    let web = app.signed_in(ADMIN, "admin password").await;
    let cid_s = cid.to_string();
    let add = |email: &'static str, password: &'static str, setup: &'static str| {
        let (app, web, cid) = (&app, &web, cid_s.clone());
        async move {
            app.call(
                web,
                "add_customer_user",
                &[
                    ("customer_id", &cid),
                    ("email", email),
                    ("password", password),
                    ("role", "member"),
                    ("setup", setup),
                ],
            )
            .await
        }
    };

    let bad = add("x", "", "password").await;
    assert_eq!(bad.status, 400);
    let fields = bad.body["Invalid"]["fields"].as_object().unwrap();
    assert!(fields.contains_key("email") && fields.contains_key("password"));
    assert!(
        add("y@globex.test", "", "carrier pigeon").await.body["Invalid"]["fields"]["setup"]
            .is_string()
    );

    // Hydrated: the link comes back in the answer; the password is ignored.
    let linked = add("l@globex.test", "ignored", "link").await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    assert_eq!(linked.body["email"], "l@globex.test");
    let secret = secret_of(&linked.body["set_password_url"]);
    assert_eq!(
        app.sign_in(&client(), "l@globex.test", "ignored")
            .await
            .status,
        401
    );
    let given = add("g@globex.test", "given password", "password").await;
    assert_eq!(given.body["set_password_url"], Value::Null);

    // A plain form post: a redirect to the page with a one-time key, which
    // only the same vendor user can turn into the link.
    let resp = app
        .post_form(
            &web,
            "add_customer_user",
            &[
                ("customer_id", cid_s.as_str()),
                ("email", "n@globex.test"),
                ("password", ""),
                ("role", "member"),
                ("setup", "link"),
            ],
            &[("Referer", &app.url(&format!("/licenses/{cid}")))],
        )
        .await;
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let key = location
        .strip_prefix(&format!("/licenses/{cid}?new_link="))
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();
    assert!(!location.contains(&secret));
    // Another org's vendor user gets nothing for the key (and does not use
    // it up).
    app.cli(
        &[
            "admin",
            "create-org",
            "--slug",
            "other",
            "--name",
            "Other",
            "--admin-email",
            "o@other.test",
        ],
        "other password\n",
    );
    let other = app.signed_in("o@other.test", "other password").await;
    let stolen = app.call(&other, "fresh_added_user", &[("key", &key)]).await;
    assert_eq!(stolen.body, Value::Null);
    // The page the browser is sent to shows the link, this once.
    let page = app.get_text(&web, &location).await;
    let prefix = format!("{PUBLIC}/set-password/");
    let at = page.find(&prefix).unwrap_or_else(|| panic!("{page}")) + prefix.len();
    let no_js_secret = page[at..at + 64].to_owned();
    assert!(no_js_secret.bytes().all(|b| b.is_ascii_hexdigit()));
    // The key worked once: a reload, or asking for it again, finds nothing.
    let again = app.get_text(&web, &location).await;
    assert!(!again.contains(&prefix), "{again}");
    let fresh = app.call(&web, "fresh_added_user", &[("key", &key)]).await;
    assert_eq!(fresh.body, Value::Null);

    // The customer follows the link (no JavaScript either) and lands on the portal.
    let customer = client();
    let resp = app
        .post_form(
            &customer,
            "set_password",
            &[
                ("secret", no_js_secret.as_str()),
                ("password", "customer password"),
                ("confirm", "customer password"),
            ],
            &[],
        )
        .await;
    assert!(resp.status().is_redirection(), "{}", resp.status());
    assert_eq!(resp.headers()["location"], "/portal");
    let portal = app.get(&customer, "/portal").await;
    assert_eq!(portal.status, 200);
}
