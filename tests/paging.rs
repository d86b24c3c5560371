//! Paged lists on a real server (issue 13): `GET /api/v1/customers` and
//! `GET /api/v1/artifacts` with `limit`, the `after` cursor and the `next`
//! link; the console's /licenses and /artifacts pages with their Next links
//! and search; bad `limit`/`after` answered as clear errors.

mod common;

use common::registry::Reg;
use common::{Api, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN: &str = "a@acme.test";

/// Follows `next` links from `first` to the end: every page's names (by
/// `field`'s `name`) and the links followed.
async fn walk(api: &Api, first: &str, field: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let mut pages = vec![];
    let mut links = vec![];
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        assert!(pages.len() < 20, "the next links never end");
        let body = api.get_ok(&path).await;
        pages.push(common::names(&body, field));
        links.push(path);
        next = body["next"].as_str().map(str::to_owned);
        if next.is_none() {
            assert_eq!(body["next"], Value::Null, "the last page says so");
        }
    }
    (pages, links)
}

/// A 422 on `field`, or a 400: the JSON error shape either way.
async fn refused(api: &Api, path: &str) -> (u16, String, Option<String>) {
    let (status, body) = api.send(Method::GET, path, None).await;
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{path}: {body}"
    );
    let field = body["error"]["fields"]
        .as_object()
        .and_then(|f| f.keys().next().cloned());
    (status, code, field)
}

/// The refusal (status, code, field) `api` answers each path of `cases` with.
type Refusal<'a> = (u16, &'a str, Option<&'a str>);

/// `api` refuses each path of `cases` as given.
async fn assert_refused(api: &Api, cases: &[(&str, Refusal<'_>)]) {
    for (path, expected) in cases {
        let (status, code, field) = refused(api, path).await;
        assert_eq!(
            (status, code.as_str(), field.as_deref()),
            *expected,
            "{path}"
        );
    }
}

#[tokio::test]
async fn customers_page_by_name_with_a_next_link_and_search() {
    let app = TestApp::start();
    app.create_org("acme", ADMIN, "admin password");
    let api = app.api(&app.token(ADMIN, &[]));
    for name in ["delta", "Alpha", "charlie", "alpha", "Bravo & Co", "echo/1"] {
        api.create_customer(name).await;
    }

    // Without a limit, a small list is one page, as before: no next.
    let all = api.get_ok("/api/v1/customers").await;
    assert_eq!(all["next"], Value::Null);
    let names = |v: &Value| common::names(v, "customers");
    let order = ["Alpha", "alpha", "Bravo & Co", "charlie", "delta", "echo/1"];
    assert_eq!(names(&all), order);

    // Two at a time: every customer once, in order, by following `next`.
    let (pages, links) = walk(&api, "/api/v1/customers?limit=2", "customers").await;
    assert_eq!(
        pages,
        [
            vec!["Alpha", "alpha"],
            vec!["Bravo & Co", "charlie"],
            vec!["delta", "echo/1"]
        ]
    );
    assert_eq!(
        links[1..],
        [
            "/api/v1/customers?limit=2&after=alpha",
            "/api/v1/customers?limit=2&after=charlie"
        ]
    );
    // A cursor with characters to encode, and one whose customer is gone.
    let after_bravo = api
        .get_ok("/api/v1/customers?limit=1&after=Bravo%20%26%20Co")
        .await;
    assert_eq!(names(&after_bravo), ["charlie"]);
    assert_eq!(
        after_bravo["next"],
        "/api/v1/customers?limit=1&after=charlie"
    );
    assert_eq!(
        names(&api.get_ok("/api/v1/customers?after=c").await),
        ["charlie", "delta", "echo/1"]
    );
    assert_eq!(
        names(&api.get_ok("/api/v1/customers?after=zzz").await),
        Vec::<String>::new()
    );

    // Search pages too, and its next link keeps the search.
    let (pages, links) = walk(&api, "/api/v1/customers?q=ALPHA&limit=1", "customers").await;
    assert_eq!(pages, [vec!["Alpha"], vec!["alpha"]]);
    assert_eq!(links[1], "/api/v1/customers?q=ALPHA&limit=1&after=Alpha");

    // Bad input: a clear 422 on the field, or 400 for a limit that is not a
    // number; never a 500.
    let long = format!("/api/v1/customers?after={}", "x".repeat(1001));
    let cases = [
        ("/api/v1/customers?limit=0", (422, "invalid", Some("limit"))),
        (
            "/api/v1/customers?limit=-3",
            (422, "invalid", Some("limit")),
        ),
        (
            "/api/v1/customers?limit=1001",
            (422, "invalid", Some("limit")),
        ),
        ("/api/v1/customers?limit=ten", (400, "bad_request", None)),
        ("/api/v1/customers?limit=", (400, "bad_request", None)),
        (long.as_str(), (422, "invalid", Some("after"))),
    ];
    assert_refused(&api, &cases).await;
    assert_eq!(
        api.get_ok("/api/v1/customers?limit=1000").await["next"],
        Value::Null
    );

    // A customer user is refused before its paging is looked at.
    api.add_customer_user(
        api.create_customer("Globex").await,
        "c@globex.test",
        "customer password",
        "member",
    )
    .await;
    let customer = app.api(&app.token("c@globex.test", &[]));
    assert_eq!(
        customer
            .send(Method::GET, "/api/v1/customers?limit=0", None)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn artifacts_page_by_name_with_their_tags_as_the_caller_sees_them() {
    let app = TestApp::start();
    app.create_pro_org("acme", ADMIN, "admin password");
    let token = app.token(ADMIN, &[]);
    let api = app.api(&token);
    let reg = Reg::new(&app.base, ADMIN, &token);
    for (repo, tags) in [
        ("web", &["1.0", "1.1"][..]),
        ("charts/web", &["0.1"][..]),
        ("api", &["2.0", "2.1", "2.2"][..]),
        ("db", &["9"][..]),
        ("tools/cli", &["0.9"][..]),
    ] {
        for tag in tags {
            reg.push_image(
                &format!("acme/{repo}"),
                tag,
                &[format!("{repo} {tag}").as_bytes()],
            )
            .await;
        }
    }

    // A vendor user: everything, by name, each with all its tags newest
    // first, two artifacts a page.
    let (pages, links) = walk(&api, "/api/v1/artifacts?limit=2", "artifacts").await;
    assert_eq!(
        pages,
        [
            vec!["api", "charts/web"],
            vec!["db", "tools/cli"],
            vec!["web"]
        ]
    );
    assert_eq!(links[1], "/api/v1/artifacts?limit=2&after=charts%2Fweb");
    let first = api.get_ok("/api/v1/artifacts?limit=2").await;
    let tags = |a: &Value| -> Vec<String> {
        a["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tag"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(tags(&first["artifacts"][0]), ["2.2", "2.1", "2.0"]);
    assert_eq!(first["artifacts"][0]["tag_count"], 3);
    assert_eq!(tags(&first["artifacts"][1]), ["0.1"]);
    // The default page holds a small org whole, as before.
    let all = api.get_ok("/api/v1/artifacts").await;
    assert_eq!(all["artifacts"].as_array().unwrap().len(), 5);
    assert_eq!(all["next"], Value::Null);
    assert_eq!(tags(&all["artifacts"][4]), ["1.1", "1.0"]);

    // A customer: only its granted artifacts, each with only its granted
    // tags, paged the same way.
    let (id, _) = api
        .customer("Globex", "c@globex.test", "customer password")
        .await;
    api.entitle(
        id,
        json!({"name": "some", "artifacts": [
            {"artifact": "web", "tags": ["1.0"]},
            {"artifact": "api", "tags": "all"},
            {"artifact": "tools/cli", "tags": "all"},
        ]}),
    )
    .await;
    let customer = app.api(&app.token("c@globex.test", &[]));
    let (pages, _) = walk(&customer, "/api/v1/artifacts?limit=1", "artifacts").await;
    assert_eq!(pages, [vec!["api"], vec!["tools/cli"], vec!["web"]]);
    let web = customer.get_ok("/api/v1/artifacts?after=tools%2Fcli").await;
    assert_eq!(web["artifacts"].as_array().unwrap().len(), 1);
    assert_eq!(tags(&web["artifacts"][0]), ["1.0"]);
    assert_eq!(web["artifacts"][0]["tag_count"], 1);
    assert_eq!(web["next"], Value::Null);

    let cases = [
        ("/api/v1/artifacts?limit=0", (422, "invalid", Some("limit"))),
        (
            "/api/v1/artifacts?limit=1001",
            (422, "invalid", Some("limit")),
        ),
        ("/api/v1/artifacts?limit=x", (400, "bad_request", None)),
    ];
    assert_refused(&customer, &cases).await;
    let long = format!("/api/v1/artifacts?after={}", "x".repeat(1001));
    assert_refused(&api, &[(long.as_str(), (422, "invalid", Some("after")))]).await;
}

/// The `href`s of the page's links whose text is `text`.
fn links_named(html: &str, text: &str) -> Vec<String> {
    let mut out = vec![];
    for (i, _) in html.match_indices(&format!(">{text}</a>")) {
        let start = html[..i].rfind("<a ").expect("an opening <a");
        let tag = &html[start..i];
        let href = tag
            .split("href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        out.push(href.replace("&amp;", "&"));
    }
    out
}

/// The customers' names on a /licenses page (their links' texts).
fn customer_names(html: &str) -> Vec<String> {
    html.split("href=\"/licenses/")
        .skip(1)
        .map(|rest| {
            let text = rest.split('>').nth(1).unwrap();
            text.split('<').next().unwrap().replace("&amp;", "&")
        })
        .collect()
}

#[tokio::test]
async fn the_console_pages_page_with_next_links_and_search() {
    let app = TestApp::start();
    app.create_org("acme", ADMIN, "admin password");
    let token = app.token(ADMIN, &[]);
    let api = app.api(&token);
    for name in ["Initech", "Globex", "Hooli", "Globe Trotters", "Umbrella"] {
        api.create_customer(name).await;
    }
    let web = app.signed_in(ADMIN, "admin password").await;

    // /licenses, two a page: Next links to the rest, in order, without
    // JavaScript (the server renders them).
    let mut seen = vec![];
    let mut next = Some("/licenses?limit=2".to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        assert!(pages < 10);
        let page = app.get(&web, &path).await;
        assert_eq!(page.status, 200, "{path}");
        seen.extend(customer_names(&page.text));
        let found = links_named(&page.text, "Next");
        assert!(found.len() <= 1);
        next = found.into_iter().next();
        if pages > 1 {
            assert_eq!(links_named(&page.text, "First page"), ["/licenses?limit=2"]);
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        ["Globe Trotters", "Globex", "Hooli", "Initech", "Umbrella"]
    );

    // Search keeps its term in the Next link.
    let found = app.get_text(&web, "/licenses?q=glo&limit=1").await;
    assert_eq!(customer_names(&found), ["Globe Trotters"]);
    assert_eq!(
        links_named(&found, "Next"),
        ["/licenses?q=glo&limit=1&after=Globe%20Trotters"]
    );
    let second = app
        .get_text(&web, "/licenses?q=glo&limit=1&after=Globe%20Trotters")
        .await;
    assert_eq!(customer_names(&second), ["Globex"]);
    assert!(links_named(&second, "Next").is_empty());
    // The default page size holds a small list whole.
    let whole = app.get_text(&web, "/licenses").await;
    assert_eq!(customer_names(&whole).len(), 5);
    assert!(links_named(&whole, "Next").is_empty());

    // A bad limit is said on the page, not a server error.
    let bad = app.get(&web, "/licenses?limit=0").await;
    assert!(bad.status < 500, "{}", bad.status);
    assert!(bad.text.contains("Choose a limit from 1 to 1000."));

    // The same through the server function's endpoint (JSON).
    let listed = app
        .call_ok(
            &web,
            "list_customers",
            &[("limit", "2"), ("after", "Globex")],
        )
        .await;
    assert_eq!(listed.body["next"], "Initech");
    let bad = app.call(&web, "list_customers", &[("limit", "many")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body["Invalid"]["fields"]["limit"].is_string());

    // /artifacts: the same paging and search by name.
    let reg = Reg::new(&app.base, ADMIN, &token);
    for repo in ["web", "charts/web", "api"] {
        reg.push_image(&format!("acme/{repo}"), "1.0", &[repo.as_bytes()])
            .await;
    }
    let first = app.get_text(&web, "/artifacts?limit=2").await;
    assert!(first.contains(">api</a>") && first.contains(">charts/web</a>"));
    assert!(!first.contains(">web</a>"));
    assert_eq!(
        links_named(&first, "Next"),
        ["/artifacts?limit=2&after=charts%2Fweb"]
    );
    let rest = app
        .get_text(&web, "/artifacts?limit=2&after=charts%2Fweb")
        .await;
    assert!(rest.contains(">web</a>") && !rest.contains(">api</a>"));
    assert!(links_named(&rest, "Next").is_empty());
    assert_eq!(links_named(&rest, "First page"), ["/artifacts?limit=2"]);
    let found = app.get_text(&web, "/artifacts?q=WEB").await;
    assert!(found.contains(">charts/web</a>") && found.contains(">web</a>"));
    assert!(!found.contains(">api</a>"));
    let none = app.get_text(&web, "/artifacts?q=nothing").await;
    assert!(none.contains("No artifact matches this search."));
}

#[tokio::test]
async fn an_artifacts_page_reads_its_tags_in_one_query_and_ends_at_1000_tags() {
    // Every SQL statement in the log, to count what a page reads.
    let app = TestApp::spawn_with_env(&[("PORTCULLIS_LOG", "info,sqlx::query=debug")]);
    app.create_org("acme", ADMIN, "admin password");
    let api = app.api(&app.token(ADMIN, &[]));
    // Written straight into the database: big-1..3 with 400 tags each, then
    // small-00..29 with one tag each.
    let store = app.store().await;
    let mut tx = store.pool().begin().await.unwrap();
    for sql in [
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) \
         INSERT INTO repositories (org_id, name, created_at) \
         SELECT (SELECT id FROM orgs WHERE slug = 'acme'), 'big-' || i, '2026-01-01T00:00:00Z' FROM n",
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29) \
         INSERT INTO repositories (org_id, name, created_at) \
         SELECT (SELECT id FROM orgs WHERE slug = 'acme'), printf('small-%02d', i), '2026-01-01T00:00:00Z' FROM n",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) \
         INSERT INTO manifests (repository_id, digest, media_type, size, content, created_at) \
         SELECT r.id, 'sha256:' || printf('%032d%032d', r.id, n.i), 'application/vnd.oci.image.manifest.v1+json', 2, X'7B7D', \
         printf('2026-01-01T00:%02d:%02dZ', n.i / 60, n.i % 60) \
         FROM repositories r, n WHERE r.name LIKE 'big-%' OR (r.name LIKE 'small-%' AND n.i = 1)",
        "INSERT INTO tags (repository_id, name, manifest_id, pushed_at) \
         SELECT repository_id, 'v' || id, id, created_at FROM manifests",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();

    // Statements that read tags (the summaries' counts and the tag lists;
    // the server's other statements, such as the change poll, are not).
    let before = app.statements("tags t ").await;
    // Without a limit, the page ends before the artifact that would take it
    // past 1,000 tags.
    let first = api.get_ok("/api/v1/artifacts").await;
    let read = app.statements("tags t ").await - before;
    let names = |v: &Value| common::names(v, "artifacts");
    assert_eq!(names(&first), ["big-1", "big-2"]);
    assert_eq!(first["artifacts"][1]["tags"].as_array().unwrap().len(), 400);
    assert_eq!(first["next"], "/api/v1/artifacts?after=big-2");
    assert_eq!(read, 2, "a page of artifacts read tags {read} times");
    // The rest: 31 artifacts with 430 tags, still two queries (the
    // summaries, all their tags), not two per artifact.
    let before = app.statements("tags t ").await;
    let rest = api.get_ok("/api/v1/artifacts?after=big-2").await;
    let read = app.statements("tags t ").await - before;
    assert_eq!(names(&rest).len(), 31);
    assert_eq!(names(&rest)[..2], ["big-3", "small-00"]);
    assert_eq!(rest["next"], Value::Null);
    assert_eq!(read, 2, "a page of 31 artifacts read tags {read} times");
    // An explicit limit is what it says, whatever the tags.
    let three = api.get_ok("/api/v1/artifacts?limit=3").await;
    assert_eq!(names(&three), ["big-1", "big-2", "big-3"]);
    assert_eq!(three["next"], "/api/v1/artifacts?limit=3&after=big-3");
    // One artifact over the budget is still a page.
    let tags = |v: &Value| v["artifacts"][0]["tags"].as_array().unwrap().len();
    sqlx::query(
        "UPDATE tags SET repository_id = (SELECT id FROM repositories WHERE name = 'big-1') \
         WHERE repository_id IN (SELECT id FROM repositories WHERE name IN ('big-2', 'big-3'))",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let alone = api.get_ok("/api/v1/artifacts").await;
    assert_eq!(names(&alone), ["big-1"]);
    assert_eq!(tags(&alone), 1200);
    assert_eq!(alone["next"], "/api/v1/artifacts?after=big-1");
}

#[tokio::test]
async fn the_entitlement_form_reads_only_the_tags_its_rows_need() {
    let app = TestApp::start();
    app.create_pro_org("acme", ADMIN, "admin password");
    app.create_pro_org("globex", "g@globex.test", "globex password");
    let token = app.token(ADMIN, &[]);
    let api = app.api(&token);
    let reg = Reg::new(&app.base, ADMIN, &token);
    for (repo, tag) in [
        ("web", "web-tag-1"),
        ("web", "web-tag-2"),
        ("api", "api-tag"),
    ] {
        reg.push_image(&format!("acme/{repo}"), tag, &[tag.as_bytes()])
            .await;
    }
    let other = app.token("g@globex.test", &[]);
    Reg::new(&app.base, "g@globex.test", &other)
        .push_image("globex/secret", "globex-tag", &[b"globex"])
        .await;
    let customer = api.create_customer("Initech").await;
    let web = app.signed_in(ADMIN, "admin password").await;
    let tags_in = |html: &str| -> Vec<&str> {
        ["web-tag-1", "web-tag-2", "api-tag", "globex-tag"]
            .into_iter()
            .filter(|t| html.contains(t))
            .collect()
    };

    // A new entitlement: every artifact to choose from, no tags yet.
    let blank = app
        .get_text(&web, &format!("/licenses/{customer}/entitlements/new"))
        .await;
    assert!(blank.contains(r#"<option value="web""#), "{blank}");
    assert!(blank.contains(r#"<option value="api""#));
    assert!(!blank.contains("secret"), "another org's artifact");
    assert!(tags_in(&blank).is_empty(), "{:?}", tags_in(&blank));

    // Without JavaScript, "Show tags" sends the draft: the chosen artifact's
    // tags come with the page, and no other's.
    let chosen = app
        .get_text(
            &web,
            &format!(
                "/licenses/{customer}/entitlements/new?name=Gold&rows%5B0%5D%5Bartifact%5D=api\
                 &rows%5B0%5D%5Bmode%5D=specific"
            ),
        )
        .await;
    assert_eq!(tags_in(&chosen), ["api-tag"]);
    assert!(chosen.contains(r#"type="checkbox" name="rows[0][tags][]" value="api-tag""#));

    // Editing: the entitlement's artifacts' tags.
    let id = api
        .entitle(
            customer,
            json!({"name": "Gold", "artifacts": [{"artifact": "web", "tags": ["web-tag-1"]}]}),
        )
        .await;
    let edit = app
        .get_text(&web, &format!("/licenses/{customer}/entitlements/{id}"))
        .await;
    assert_eq!(tags_in(&edit), ["web-tag-1", "web-tag-2"]);

    // Hydrated, a row asks for its artifact's tags when it is chosen:
    // newest first, nothing of another org's, nothing for a customer.
    let tags = |artifact: &'static str| {
        let (app, web) = (&app, &web);
        async move {
            let answer = app
                .call_ok(web, "entitlement_tags", &[("artifact", artifact)])
                .await;
            answer.body
        }
    };
    assert_eq!(tags("web").await, json!(["web-tag-2", "web-tag-1"]));
    assert_eq!(tags("secret").await, json!([]));
    assert_eq!(tags("nothing").await, json!([]));
    api.add_customer_user(customer, "c@initech.test", "customer password", "member")
        .await;
    let portal = app.signed_in("c@initech.test", "customer password").await;
    let refused = app
        .call(&portal, "entitlement_tags", &[("artifact", "web")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(!refused.text.contains("web-tag"));
}
