//! Test support for the SQLite-only tests (the migrations); the store's
//! behaviour is tested by the contract suite (`store/contract/`).

use super::SqliteStore;
use crate::{DisplayName, Email};

/// The answer of a `SELECT COUNT(*) …` (or any one number) in `store`.
pub(in crate::store) async fn count(store: &SqliteStore, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

pub(in crate::store) fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub(in crate::store) fn name(s: &str) -> DisplayName {
    DisplayName::parse(s).unwrap()
}
