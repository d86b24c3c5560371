//! Accounts on a real server: first run, sign-in, sessions, roles, the CLI.

mod common;

use common::{client, location, TestApp};
use domain::store::Store;
use domain::{CustomerRole, DisplayName, Email};
use serde_json::json;

#[tokio::test]
async fn first_run_creates_the_first_org_once() {
    let app = TestApp::spawn();
    let c = client();
    let page = app.get(&c, "/").await;
    assert_eq!(page.status, 200);
    let html = page.text;
    assert!(html.contains("Set up your registry"), "{html}");

    // Bad input: every field gets its own message, nothing is created.
    let bad = app
        .create_first_org(&c, " ", "Bad Slug", "nope", "short")
        .await;
    assert_eq!(bad.status, 400);
    let fields = &bad.body["Invalid"]["fields"];
    for f in ["org_name", "slug", "email", "password"] {
        assert!(fields[f].is_string(), "no message for {f}: {}", bad.body);
    }
    assert_eq!(app.get_status(&c, "/").await, 200, "still first run");

    let ok = app
        .create_first_org(&c, "Acme Corp", "acme", "Admin@Acme.test", "correct horse")
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // From now on `/` sends you to sign in, and first run is closed.
    let root = app.get(&c, "/").await;
    assert_eq!(root.status, 303);
    assert_eq!(location(&root.headers), "/signin");
    let again = app
        .create_first_org(&c, "Evil", "evil", "e@evil.test", "correct horse")
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(app
        .store()
        .await
        .credentials(&Email::parse("e@evil.test").unwrap())
        .await
        .unwrap()
        .is_none());

    // The admin can sign in (email is case-insensitive) and lands on the console;
    // the org starts on a Pro trial.
    let admin = app.signed_in("admin@acme.test", "correct horse").await;
    let settings = app.call_ok(&admin, "load_settings", &[]).await;
    assert_eq!(settings.body["org"]["slug"], "acme");
    assert_eq!(settings.body["org"]["plan"], "pro_trial");
    assert!(settings.body["org"]["trial_ends_at"].is_string());
}

#[tokio::test]
async fn sign_in_failures_look_the_same_and_success_sets_a_safe_cookie() {
    let app = TestApp::spawn();
    app.create_org("acme", "a@acme.test", "right password");
    let c = client();

    let wrong = app.sign_in(&c, "a@acme.test", "wrong password").await;
    let unknown = app.sign_in(&c, "nobody@acme.test", "wrong password").await;
    let malformed = app.sign_in(&c, "not-an-email", "wrong password").await;
    assert_eq!(wrong.status, 401);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!(
        (wrong.status, &wrong.body),
        (malformed.status, &malformed.body)
    );
    assert_eq!(wrong.body, json!("BadCredentials"));
    assert!(
        wrong.headers.get("set-cookie").is_none(),
        "no session for a failed sign-in"
    );

    let ok = app.sign_in(&c, "a@acme.test", "right password").await;
    assert_eq!(ok.status, 200);
    let cookie = ok.cookie();
    assert!(cookie.starts_with("portcullis_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: {cookie}"
    );
    assert!(
        ok.headers.get("serverfnredirect").is_some(),
        "the client is told to navigate"
    );
    assert_eq!(location(&ok.headers), "/artifacts");

    // Signing in again renews the session id.
    let again = app.sign_in(&c, "a@acme.test", "right password").await;
    let cookie2 = again.cookie();
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&cookie), id(&cookie2));

    // The stored hash is argon2id.
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'a@acme.test'")
            .fetch_one(app.store().await.pool())
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test]
async fn secure_cookie_when_public_url_is_https() {
    let app =
        TestApp::spawn_with_env(&[("PORTCULLIS_PUBLIC_URL", "https://registry.example.test")]);
    app.create_org("acme", "a@acme.test", "right password");
    let ok = app
        .sign_in(&client(), "a@acme.test", "right password")
        .await;
    let cookie = ok.cookie();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn plain_form_posts_redirect_with_the_error_or_to_the_console() {
    let app = TestApp::spawn();
    app.create_org("acme", "a@acme.test", "right password");
    let c = client();
    let referer = app.url("/signin");
    let post = |pw: &'static str| {
        c.post(app.url("/api/sign_in"))
            .header("Accept", "text/html")
            .header("Referer", referer.clone())
            .form(&[
                ("email", "a@acme.test"),
                ("password", pw),
                ("next", "/settings"),
            ])
            .send()
    };
    let failed = post("nope").await.unwrap();
    assert_eq!(failed.status(), 302);
    let to = location(failed.headers());
    assert!(to.starts_with(&referer) && to.contains("__err="), "{to}");
    // The sign-in page renders the error next to the form.
    let page = c.get(&to).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Incorrect email or password."), "{page}");

    let ok = post("right password").await.unwrap();
    assert_eq!(ok.status(), 302);
    assert_eq!(location(ok.headers()), "/settings");
    let settings = app.get(&c, "/settings").await;
    assert_eq!(settings.status, 200);
    let html = settings.text;
    for text in [
        "Artifacts",
        "Licenses",
        "Settings",
        "a@acme.test",
        "acme Inc",
    ] {
        assert!(html.contains(text), "console lacks {text}");
    }
}

/// The console's changes to vendor users (server function, form fields),
/// on the user with id `user_id`.
fn vendor_user_writes(user_id: &str) -> Vec<(&'static str, Vec<(&'static str, &str)>)> {
    vec![
        (
            "add_vendor_user",
            vec![
                ("email", "x@acme.test"),
                ("password", "long enough"),
                ("role", "admin"),
            ],
        ),
        (
            "change_vendor_role",
            vec![("user_id", user_id), ("role", "read_only")],
        ),
        ("remove_vendor_user", vec![("user_id", user_id)]),
    ]
}

#[tokio::test]
async fn pages_and_functions_refuse_without_a_session() {
    let app = TestApp::spawn();
    app.create_org("acme", "a@acme.test", "right password");
    let c = client();
    for path in ["/artifacts", "/licenses", "/settings", "/portal"] {
        let r = app.get(&c, path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(
            location(&r.headers),
            format!("/signin?next={path}"),
            "{path}"
        );
    }
    let r = app.get(&c, "/settings?tab=users").await;
    assert_eq!(location(&r.headers), "/signin?next=/settings%3Ftab%3Dusers");
    let mut calls = vec![("load_settings", vec![])];
    calls.extend(vendor_user_writes("1"));
    app.calls_answer(&c, &calls, 401, json!("Unauthenticated"))
        .await;
    assert_eq!(app.call(&c, "get_me", &[]).await.body, json!(null));
    // Signing out ends the session.
    let admin = app.signed_in("a@acme.test", "right password").await;
    assert_eq!(
        app.call(&admin, "get_me", &[]).await.body["email"],
        "a@acme.test"
    );
    app.call_ok(&admin, "sign_out", &[]).await;
    assert_eq!(app.call(&admin, "load_settings", &[]).await.status, 401);
    assert_eq!(app.get_status(&admin, "/settings").await, 303);
}

/// The page guard knows the pages from the UI's route tree and fails
/// closed: an address no route claims (console-like or not) sends a
/// signed-out user to sign in, never to a page rendered unguarded, and a
/// signed-in user to the not-found page. Addresses the router reads as a
/// console page are guarded as one. Static files stay public.
#[tokio::test]
async fn unknown_pages_fail_closed() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/portcullis.css"), "body {}").unwrap();
    std::fs::write(site.path().join("favicon.svg"), "<svg/>").unwrap();
    let root = site.path().to_str().unwrap();
    let app = TestApp::spawn_with_env(&[("PORTCULLIS_SITE_ROOT", root)]);
    app.create_org("acme", "a@acme.test", "right password");
    let c = client();
    for path in [
        "/licenses/1/reports",
        "/settingsx",
        "/portal/billing",
        "/no/such/page",
        "/settings/",
        "/pkg/missing.js",
    ] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(
            location(r.headers()),
            format!("/signin?next={path}"),
            "{path}"
        );
    }
    for path in ["/favicon.svg", "/pkg/portcullis.css"] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let admin = app.signed_in("a@acme.test", "right password").await;
    let r = admin
        .get(app.url("/licenses/1/reports"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn roles_and_areas_are_enforced() {
    let app = TestApp::spawn();
    app.create_org("acme", "a@acme.test", "admin password");
    let store = app.store().await;
    let org = store
        .org_by_slug(&domain::OrgSlug::parse("acme").unwrap())
        .await
        .unwrap();
    let customer = store
        .create_customer(
            org.id,
            DisplayName::parse("Globex").unwrap(),
            &domain::audit::Actor::operator(),
        )
        .await
        .unwrap();
    let hash = domain::password::hash(domain::NewPassword::parse("customer password").unwrap())
        .await
        .unwrap();
    store
        .create_customer_user(
            org.id,
            customer.id,
            Email::parse("c@globex.test").unwrap(),
            hash,
            CustomerRole::Member,
            &domain::audit::Actor::operator(),
        )
        .await
        .unwrap();

    let admin = app.signed_in("a@acme.test", "admin password").await;
    let added = app
        .add_vendor_user(&admin, "ro@acme.test", "read only pw", "read_only")
        .await;
    assert_eq!(added.status, 200, "{}", added.body);

    // A customer user sees the portal, never the console.
    let cust = app.signed_in("c@globex.test", "customer password").await;
    let r = app.get(&cust, "/settings").await;
    assert_eq!((r.status, location(&r.headers)), (303, "/portal".into()));
    let portal = cust.get(app.url("/portal")).send().await.unwrap();
    assert_eq!(portal.status(), 200);
    let html = portal.text().await.unwrap();
    assert!(
        html.contains("Customer portal") && html.contains("Globex"),
        "{html}"
    );
    assert!(
        !html.contains("Licenses"),
        "the portal does not show console navigation"
    );
    assert_eq!(app.call(&cust, "load_settings", &[]).await.status, 403);
    assert_eq!(
        app.add_vendor_user(&cust, "x@acme.test", "long enough", "admin")
            .await
            .status,
        403
    );

    // A vendor user never sees the portal.
    let r = app.get(&admin, "/portal").await;
    assert_eq!((r.status, location(&r.headers)), (303, "/artifacts".into()));

    // read_only reads settings but changes nothing.
    let ro = app.signed_in("ro@acme.test", "read only pw").await;
    let view = app.call_ok(&ro, "load_settings", &[]).await;
    assert_eq!(view.body["is_admin"], false);
    let admin_id = common::user_id(&view.body["users"], "a@acme.test").to_string();
    app.calls_answer(&ro, &vendor_user_writes(&admin_id), 403, json!("Forbidden"))
        .await;
    assert_eq!(
        store.vendor_users(org.id).await.unwrap().len(),
        2,
        "nothing changed"
    );
}

#[tokio::test]
async fn admins_manage_users_within_their_org() {
    let app = TestApp::spawn();
    app.create_org("acme", "a@acme.test", "admin password");
    app.create_org("beta", "b@beta.test", "beta password");
    let admin = app.signed_in("a@acme.test", "admin password").await;

    let bad = app.add_vendor_user(&admin, "bad", "x", "owner").await;
    assert_eq!(bad.status, 400);
    for f in ["email", "password", "role"] {
        assert!(
            bad.body["Invalid"]["fields"][f].is_string(),
            "{f}: {}",
            bad.body
        );
    }
    let dup = app
        .add_vendor_user(&admin, "b@beta.test", "long enough", "admin")
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["Conflict"]["field"], "email");

    let ok = app
        .add_vendor_user(&admin, "rw@acme.test", "long enough", "read_write")
        .await;
    assert_eq!(ok.status, 200);
    let users = app.call(&admin, "load_settings", &[]).await.body["users"].clone();
    let id_of = |email: &str| common::user_id(&users, email).to_string();
    let rw = id_of("rw@acme.test");
    let me = id_of("a@acme.test");

    let promoted = app.change_vendor_role(&admin, rw.as_str(), "admin").await;
    assert_eq!(promoted.status, 200);
    let myself = app.remove_vendor_user(&admin, me.as_str()).await;
    assert_eq!(myself.status, 400);
    let removed = app.remove_vendor_user(&admin, rw.as_str()).await;
    assert_eq!(removed.status, 200);
    // The last admin cannot be demoted.
    let demote = app
        .change_vendor_role(&admin, me.as_str(), "read_only")
        .await;
    assert_eq!(demote.status, 400);
    assert!(demote.body["Invalid"]["message"]
        .as_str()
        .unwrap()
        .contains("at least one admin"));

    // Another org's user is answered as not found.
    let beta = app.signed_in("b@beta.test", "beta password").await;
    let beta_view = app.call(&beta, "load_settings", &[]).await;
    assert_eq!(
        beta_view.body["users"].as_array().unwrap().len(),
        1,
        "{}",
        beta_view.body
    );
    let cross = app.remove_vendor_user(&beta, me.as_str()).await;
    assert_eq!((cross.status, cross.body), (404, json!("NotFound")));
    let cross = app
        .change_vendor_role(&beta, me.as_str(), "read_only")
        .await;
    assert_eq!(cross.status, 404);
}

#[tokio::test]
async fn repeated_failures_are_throttled() {
    let app = TestApp::spawn();
    app.create_org("acme", "a@acme.test", "right password");
    let c = client();
    for _ in 0..5 {
        assert_eq!(app.sign_in(&c, "a@acme.test", "wrong").await.status, 401);
    }
    let blocked = app.sign_in(&c, "a@acme.test", "right password").await;
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    assert!(blocked.body["TooManyAttempts"]
        .as_str()
        .unwrap()
        .contains("Try again in"));
    // Unknown emails are throttled the same way (no enumeration).
    for _ in 0..5 {
        assert_eq!(
            app.sign_in(&c, "ghost@acme.test", "wrong").await.status,
            401
        );
    }
    assert_eq!(
        app.sign_in(&c, "ghost@acme.test", "wrong").await.status,
        429
    );
}

#[tokio::test]
async fn cli_creates_orgs_and_sets_plans_while_the_server_runs() {
    let app = TestApp::spawn();
    app.cli_ok(
        &[
            "admin",
            "create-org",
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--admin-email",
            "a@acme.test",
        ],
        "pw\n",
    );
    let c = app.signed_in("a@acme.test", "pw").await;
    assert_eq!(
        app.call(&c, "load_settings", &[]).await.body["org"]["plan"],
        "community"
    );

    app.cli_ok(
        &[
            "admin",
            "set-plan",
            "--org",
            "acme",
            "--plan",
            "pro_trial",
            "--trial-ends",
            "2030-01-31",
        ],
        "",
    );
    let org = app.call(&c, "load_settings", &[]).await.body["org"].clone();
    assert_eq!(org["plan"], "pro_trial");
    assert!(org["trial_ends_at"]
        .as_str()
        .unwrap()
        .starts_with("2030-01-31"));

    for (args, stdin, needle) in [
        (
            vec!["admin", "set-plan", "--org", "acme", "--plan", "gold"],
            "",
            "not a plan",
        ),
        (
            vec!["admin", "set-plan", "--org", "nope", "--plan", "pro"],
            "",
            "no organization",
        ),
        (
            vec![
                "admin",
                "set-plan",
                "--org",
                "acme",
                "--plan",
                "pro",
                "--trial-ends",
                "2030-01-01",
            ],
            "",
            "only applies",
        ),
        (
            vec![
                "admin",
                "create-org",
                "--slug",
                "acme",
                "--name",
                "Again",
                "--admin-email",
                "x@acme.test",
            ],
            "pw\n",
            "taken",
        ),
        (
            vec![
                "admin",
                "create-org",
                "--slug",
                "Bad!",
                "--name",
                "X",
                "--admin-email",
                "x@x.test",
            ],
            "pw\n",
            "--slug",
        ),
        (
            vec![
                "admin",
                "create-org",
                "--slug",
                "other",
                "--name",
                "X",
                "--admin-email",
                "x@x.test",
            ],
            "",
            "empty",
        ),
    ] {
        let out = app.cli(&args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn no_password_or_session_id_in_logs_even_at_trace() {
    let app = TestApp::spawn_with_env(&[("PORTCULLIS_LOG", "trace")]);
    let password = "s3cret-Passw0rd-XYZ";
    app.create_org("acme", "a@acme.test", password);
    let c = client();
    assert_eq!(
        app.sign_in(&c, "a@acme.test", "Wr0ng-Passw0rd-ABC")
            .await
            .status,
        401
    );
    let ok = app.sign_in(&c, "a@acme.test", password).await;
    assert_eq!(ok.status, 200);
    let cookie = ok.cookie();
    let session_id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("portcullis_session=")
        .to_owned();
    assert!(session_id.len() >= 16);
    app.call_ok(&c, "load_settings", &[]).await;
    app.call_ok(&c, "sign_out", &[]).await;
    app.sync_logs().await;
    let logs = app.logs();
    assert!(logs.contains("signed in"), "trace logs were captured");
    for secret in [password, "Wr0ng-Passw0rd-ABC", session_id.as_str()] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}

#[tokio::test]
async fn health_and_graceful_shutdown() {
    let mut app = TestApp::spawn();
    let r = client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok", "database": "ok", "storage": "ok"})
    );
    // Signed out, an unknown page is a sign-in (see unknown_pages_fail_closed).
    let missing = app.get(&client(), "/no/such/page").await;
    assert_eq!(missing.status, 303);
    let status = app.terminate();
    assert!(status.success(), "exit status {status:?}");
}
