//! A query's trip through the SQLite store's connection pool: the store's
//! pool (no ping before each use, `sqlite::pool_options`) against sqlx's
//! default pool (a ping first) on the same database file.
//!
//!   cargo bench -p domain --bench pool
//!
//! Prints the mean time per query of each, in alternating rounds: one
//! `SELECT 1` at a time, one `INSERT` at a time, and eight tasks reading at
//! once; then runs criterion on the single `SELECT 1`. Under `cargo test` it
//! only checks that it runs, with few queries.

use criterion::Criterion;
use domain::store::SqliteStore;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::SqlitePool;
use std::time::Instant;

/// Mean microseconds per query of `n` queries made by `tasks` tasks at once.
async fn per_query(pool: &SqlitePool, sql: &'static str, n: usize, tasks: usize) -> f64 {
    let started = Instant::now();
    let mut running = Vec::new();
    for _ in 0..tasks {
        let pool = pool.clone();
        running.push(tokio::spawn(async move {
            for _ in 0..n / tasks {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
        }));
    }
    for task in running {
        task.await.unwrap();
    }
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (n, rounds) = if full { (20_000, 3) } else { (40, 1) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pool.db");
    let (store, default) = rt.block_on(async {
        let store = SqliteStore::open_file(&path).await.unwrap();
        let options = SqliteStore::connect_options(&path);
        let max = store.pool().options().get_max_connections();
        let default = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE bench (x INTEGER)")
            .execute(&default)
            .await
            .unwrap();
        (store.pool().clone(), default)
    });
    assert!(!store.options().get_test_before_acquire());
    let cases: [(&str, &'static str, usize); 3] = [
        ("SELECT 1, one at a time", "SELECT 1", 1),
        ("INSERT, one at a time", "INSERT INTO bench VALUES (1)", 1),
        ("SELECT 1, 8 tasks at once", "SELECT 1", 8),
    ];
    for (what, sql, tasks) in cases {
        let (mut ours, mut theirs) = (0.0, 0.0);
        for round in 0..rounds {
            // Alternating which goes first: a later batch may find the
            // machine faster or slower.
            let pools = if round % 2 == 0 {
                [(&store, &mut ours), (&default, &mut theirs)]
            } else {
                [(&default, &mut theirs), (&store, &mut ours)]
            };
            for (pool, total) in pools {
                *total += rt.block_on(per_query(pool, sql, n, tasks));
            }
        }
        let (ours, theirs) = (ours / rounds as f64, theirs / rounds as f64);
        println!(
            "{what:28} store's pool {ours:6.1} us, sqlx default {theirs:6.1} us per query ({:.2}x)",
            ours / theirs
        );
    }
    if !full {
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    for (name, pool) in [("store's pool", &store), ("sqlx default pool", &default)] {
        criterion.bench_function(&format!("SELECT 1, {name}"), |b| {
            b.iter(|| rt.block_on(sqlx::query("SELECT 1").execute(pool)).unwrap())
        });
    }
    criterion.final_summary();
}
