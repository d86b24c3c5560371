//! The queries both SQL stores run, written once. SQLite and PostgreSQL
//! take the same SQL text: placeholders are numbered (`$1`, `$2`, …; sqlx's
//! SQLite driver binds `$n` by number too, and a `$n` used twice is the same
//! argument on both).
//!
//! This folder is not a module of `store`: each backend compiles it as its
//! own child module (`#[path = "../sql/mod.rs"] mod sql;` in `sqlite/mod.rs`
//! and `postgres/mod.rs`), so here `super::` is the backend. A backend gives,
//! under the same names:
//!
//! - `Store`, its store type (`SqliteStore`, `PgStore`), which the files
//!   here add methods to, and `Db`, its sqlx database (`Conn` is that
//!   database's connection);
//! - `SqlStore::begin_write`, a transaction for a change (SQLite: `BEGIN
//!   IMMEDIATE`, its one writer; PostgreSQL: a plain transaction, with a
//!   row or advisory lock where the backend's module takes one);
//! - `text`, a request's text as the database can take it (PostgreSQL
//!   refuses the NUL character; SQLite takes text as it is);
//! - in its module of each aggregate, what differs there (a lock clause,
//!   `json_each` vs `= ANY`, the change feed's LISTEN/NOTIFY, …).

pub(super) mod access;
pub(super) mod audit;
pub(super) mod customers;
pub(super) mod entitlements;
pub(super) mod links;
pub(super) mod orgs;
pub(super) mod pulls;
pub(super) mod registry;
pub(super) mod uploads;
pub(super) mod upstreams;
pub(super) mod users;

pub(super) use super::{text, Db, SqlStore};
use crate::store::StoreError;

/// The backend's connection.
pub(super) type Conn = <Db as sqlx::Database>::Connection;

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A unique-constraint failure becomes `taken` (what is taken); anything
/// else stays a database error.
pub(super) fn unique_or(e: sqlx::Error, taken: StoreError) -> StoreError {
    if is_unique_violation(&e) {
        taken
    } else {
        e.into()
    }
}
