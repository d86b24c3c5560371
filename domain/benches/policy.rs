//! The entitlement decision on the registry's hot path, at the scale:
//! 10k customers, 50k entitlements, 1k artifacts, 100k tags, seeded into a
//! real SQLite store and loaded into the real `AccessCache`.
//!
//!   cargo bench -p domain --bench policy
//!
//! Prints p50/p99 of single decisions (each timed on its own) and then runs
//! criterion on the same operations. Under `cargo test` it only checks that
//! it runs, on a small seed.

use chrono::{DateTime, Utc};
use criterion::{black_box, Criterion};
use domain::access::AccessCache;
use domain::policy::{RepoGraph, TagGrant, TagRule, TagScope, Visibility};
use domain::store::{SqliteStore, Store};
use domain::{CustomerId, OrgId};
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::time::Instant;

struct Scale {
    customers: i64,
    entitlements_per_customer: i64,
    artifacts: i64,
    tags_per_artifact: i64,
}

const FULL: Scale = Scale {
    customers: 10_000,
    entitlements_per_customer: 5,
    artifacts: 1_000,
    tags_per_artifact: 100,
};
const SMOKE: Scale = Scale {
    customers: 20,
    entitlements_per_customer: 5,
    artifacts: 10,
    tags_per_artifact: 10,
};

/// Row `id` of org 1's `table` (repositories, customers): `name`, created `at`.
async fn insert_named(
    tx: &mut sqlx::SqliteConnection,
    table: &str,
    (id, name): (i64, String),
    at: DateTime<Utc>,
) {
    sqlx::query(&format!(
        "INSERT INTO {table} (id, org_id, name, created_at) VALUES (?, 1, ?, ?)"
    ))
    .bind(id)
    .bind(name)
    .bind(at)
    .execute(tx)
    .await
    .unwrap();
}

/// Seeds one pro org with `scale` straight into the schema (one transaction).
async fn seed(store: &SqliteStore, scale: &Scale) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut tx = store.pool().begin().await.unwrap();
    let now = Utc::now();
    sqlx::query(
        "INSERT INTO orgs (id, slug, name, plan, created_at) VALUES (1, 'acme', 'Acme', 'pro', ?)",
    )
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    for a in 0..scale.artifacts {
        insert_named(&mut tx, "repositories", (a + 1, format!("art-{a}")), now).await;
    }
    let mut entitlement = 0;
    for c in 0..scale.customers {
        insert_named(&mut tx, "customers", (c + 1, format!("customer {c}")), now).await;
        for e in 0..scale.entitlements_per_customer {
            entitlement += 1;
            sqlx::query("INSERT INTO entitlements (id, customer_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
                .bind(entitlement)
                .bind(c + 1)
                .bind(format!("e{e}"))
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await
                .unwrap();
            let grants = rng.gen_range(1..=3);
            let mut used = BTreeSet::new();
            for position in 0..grants {
                let repo = rng.gen_range(1..=scale.artifacts);
                if !used.insert(repo) {
                    continue;
                }
                // A third each: all tags, a list of tags, a rule (a glob or
                // a version range).
                let kind = rng.gen_range(0..3);
                let all = kind == 0;
                let tags = match kind {
                    1 => serde_json::json!((0..rng.gen_range(1..=5))
                        .map(|_| format!("1.{}", rng.gen_range(0..scale.tags_per_artifact)))
                        .collect::<Vec<_>>()),
                    2 if rng.gen_bool(0.5) => {
                        serde_json::json!({"match": format!("1.{}*", rng.gen_range(1..10))})
                    }
                    2 => {
                        let from = rng.gen_range(0..scale.tags_per_artifact);
                        serde_json::json!({"semver": format!(">=1.{from}, <1.{}", from + 20)})
                    }
                    _ => serde_json::json!([]),
                };
                sqlx::query("INSERT INTO entitlement_grants (entitlement_id, repository_id, position, all_tags, tags) VALUES (?, ?, ?, ?, ?)")
                    .bind(entitlement)
                    .bind(repo)
                    .bind(position)
                    .bind(all)
                    .bind(tags.to_string())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
}

/// A repository graph of `tags` tags, each re-pushed once (history), with a
/// referrer per tag.
fn graph(tags: i64) -> RepoGraph {
    let mut g = RepoGraph::default();
    for t in 0..tags {
        let (tag, now, before) = (
            format!("1.{t}"),
            format!("sha256:m{t}"),
            format!("sha256:o{t}"),
        );
        g.tags.insert(tag.clone(), now.clone());
        let at = Utc::now();
        g.tag_history.push((tag.clone(), before.clone(), at));
        g.tag_history.push((tag, now.clone(), at));
        g.referrers
            .insert(now.clone(), vec![format!("sha256:sig{t}")]);
        for m in [&now, &before] {
            g.blobs
                .insert(m.clone(), vec![format!("{m}-config"), format!("{m}-layer")]);
        }
    }
    g
}

fn percentiles(mut ns: Vec<u64>) -> (u64, u64, u64) {
    ns.sort_unstable();
    let at = |p: f64| ns[((ns.len() as f64 * p) as usize).min(ns.len() - 1)];
    (at(0.50), at(0.99), *ns.last().unwrap())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { &FULL } else { &SMOKE };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(async {
        let store = SqliteStore::open_file(&dir.path().join("bench.db"))
            .await
            .unwrap();
        seed(&store, scale).await;
        store
    });
    let cache = AccessCache::default();
    let now = Utc::now();
    let started = Instant::now();
    rt.block_on(async {
        for c in 1..=scale.customers {
            cache
                .customer(
                    &store as &dyn Store,
                    OrgId::from(1),
                    CustomerId::from(c),
                    now,
                )
                .await
                .unwrap();
        }
    });
    println!(
        "seeded {} customers, {} entitlements, {} artifacts x {} tags; cache filled in {:?}",
        scale.customers,
        scale.customers * scale.entitlements_per_customer,
        scale.artifacts,
        scale.tags_per_artifact,
        started.elapsed()
    );
    let g = graph(scale.tags_per_artifact);
    let specific = TagGrant::from(TagScope::tags(["1.3", "1.7"]));
    let allowed = g.allowed(&specific);
    let range = TagGrant::from(TagScope::rule(TagRule::semver(">=1.10, <1.60").unwrap()));
    let glob = TagGrant::from(TagScope::rule(TagRule::glob("1.?*").unwrap()));

    // One decision = the customer's compiled view from memory + the rule.
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut by_tag = Vec::with_capacity(1_000_000);
    let mut by_digest = Vec::with_capacity(1_000_000);
    let mut granted = 0u64;
    for _ in 0..if full { 1_000_000 } else { 1_000 } {
        let c = rng.gen_range(1..=scale.customers);
        let artifact = format!("art-{}", rng.gen_range(0..scale.artifacts));
        let tag = format!("1.{}", rng.gen_range(0..scale.tags_per_artifact));
        let t = Instant::now();
        let access = cache
            .current(OrgId::from(1), CustomerId::from(c), now)
            .expect("cached");
        let ok = access.visibility.tag_allowed(&artifact, &tag);
        by_tag.push(t.elapsed().as_nanos() as u64);
        granted += ok as u64;
        let digest = format!("sha256:o{}", rng.gen_range(0..scale.tags_per_artifact));
        let t = Instant::now();
        let access = cache
            .current(OrgId::from(1), CustomerId::from(c), now)
            .expect("cached");
        let ok = match &access.visibility {
            Visibility::Granted(grants) => grants
                .get(&artifact)
                .is_some_and(|_| allowed.manifests.contains(&digest)),
            Visibility::Everything => true,
        };
        by_digest.push(t.elapsed().as_nanos() as u64);
        black_box(ok);
    }
    let (p50, p99, max) = percentiles(by_tag);
    println!("decision, manifest by tag:    p50 {p50} ns, p99 {p99} ns, max {max} ns ({granted} granted)");
    let (p50, p99, max) = percentiles(by_digest);
    println!("decision, manifest by digest: p50 {p50} ns, p99 {p99} ns, max {max} ns");
    for (what, grant) in [
        ("specific tags", &specific),
        ("a version range", &range),
        ("a glob", &glob),
    ] {
        let t = Instant::now();
        black_box(g.allowed(grant));
        println!(
            "allowed set of a {}-tag repository under {what} (cache miss): {:?}",
            scale.tags_per_artifact,
            t.elapsed()
        );
    }
    // One rule decision alone (the tag read as a version, or the glob).
    for (what, grant) in [("version range", &range), ("glob", &glob)] {
        let mut ns = Vec::with_capacity(100_000);
        for i in 0..100_000 {
            let tag = format!("1.{}", i % scale.tags_per_artifact);
            let t = Instant::now();
            black_box(grant.covers(&tag));
            ns.push(t.elapsed().as_nanos() as u64);
        }
        let (p50, p99, max) = percentiles(ns);
        println!("rule alone, {what}: p50 {p50} ns, p99 {p99} ns, max {max} ns");
    }

    let mut criterion = Criterion::default().configure_from_args();
    criterion.bench_function("decision by tag (cached view)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i % scale.customers) + 1;
            let access = cache
                .current(OrgId::from(1), CustomerId::from(i), now)
                .unwrap();
            black_box(access.visibility.tag_allowed("art-7", "1.3"))
        })
    });
    criterion.bench_function("allowed set, cache miss", |b| {
        b.iter(|| black_box(g.allowed(&specific)))
    });
    criterion.bench_function("decision by tag, version range", |b| {
        b.iter(|| black_box(range.covers(black_box("1.42"))))
    });
    criterion.bench_function("decision by tag, glob", |b| {
        b.iter(|| black_box(glob.covers(black_box("1.42"))))
    });
    criterion.bench_function("allowed set, version range, cache miss", |b| {
        b.iter(|| black_box(g.allowed(&range)))
    });
    criterion.final_summary();
}
