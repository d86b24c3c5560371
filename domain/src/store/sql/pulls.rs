//! The pull log (migration `0006_pulls.sql`).

use super::{text, Db, SqlStore};
use crate::pulls::{NewPull, Pull, PullQuery};
use crate::store::StoreResult;
use crate::{CustomerId, OrgId, UserId};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use std::collections::hash_map::{Entry, HashMap};
use std::sync::LazyLock;

/// Rows per insert statement: a batch is split greedily into these sizes
/// ([`COLUMNS`] parameters a row: 1536 at most, well under either
/// database's limit).
const ROWS: [usize; 4] = [128, 32, 8, 1];

/// The parameters of one row.
const COLUMNS: usize = 12;

/// `INSERT INTO pulls … VALUES (…), (…)` for each size in [`ROWS`].
static INSERTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ROWS.iter()
        .map(|&n| {
            let rows: Vec<String> = (0..n)
                .map(|r| {
                    let marks: Vec<String> = (1..=COLUMNS)
                        .map(|c| format!("${}", r * COLUMNS + c))
                        .collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            format!(
                "INSERT INTO pulls (org_id, customer_id, customer_name, customer_gone, user_id, \
                 user_email, repository, tag, digest, at, address, count) VALUES {}",
                rows.join(", ")
            )
        })
        .collect()
});

/// The largest insert statement for at most `rows` rows, and its row count.
fn insert_statement(rows: usize) -> (&'static str, usize) {
    let i = ROWS
        .iter()
        .position(|&n| n <= rows)
        .unwrap_or(ROWS.len() - 1);
    (INSERTS[i].as_str(), ROWS[i])
}

#[derive(sqlx::FromRow)]
struct PullRow {
    id: i64,
    at: DateTime<Utc>,
    customer_id: CustomerId,
    customer: String,
    customer_deleted: bool,
    user_id: UserId,
    user_email: String,
    repository: String,
    tag: Option<String>,
    digest: String,
    address: String,
    count: i64,
}

impl From<PullRow> for Pull {
    fn from(r: PullRow) -> Self {
        Pull {
            id: r.id,
            at: r.at,
            customer_id: r.customer_id,
            customer: r.customer,
            customer_deleted: r.customer_deleted,
            user_id: r.user_id,
            user_email: r.user_email,
            artifact: r.repository,
            tag: r.tag,
            digest: r.digest,
            address: r.address,
            count: r.count,
        }
    }
}

impl SqlStore {
    /// Writes a batch in one transaction: multi-row inserts of a few fixed
    /// sizes (each a statement prepared once and cached), so that a batch
    /// of 500 is a handful of statements rather than 500 round trips to
    /// the database. (PostgreSQL takes concurrent writers: its
    /// `write_turn` waits for nothing.)
    pub(in crate::store) async fn record_pulls(&self, pulls: &[NewPull]) -> StoreResult<()> {
        if pulls.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let mut tx = self.begin_write().await?;
        // A customer deleted before this transaction: its pulls are marked
        // gone here (one query per customer in the batch: usually one);
        // deleted after: the trigger marks them (on PostgreSQL the row lock,
        // FOR SHARE, makes a deletion wait for this commit).
        let mut gone: HashMap<(OrgId, CustomerId), bool> = HashMap::new();
        let exists_sql = format!(
            "SELECT id FROM customers WHERE id = $1 AND org_id = $2{}",
            SqlStore::FOR_SHARE
        );
        for p in pulls {
            if let Entry::Vacant(e) = gone.entry((p.org_id, p.customer_id)) {
                let exists: Option<i64> = sqlx::query_scalar(&exists_sql)
                    .bind(p.customer_id)
                    .bind(p.org_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                e.insert(exists.is_none());
            }
        }
        let mut rest = pulls;
        while !rest.is_empty() {
            let (sql, rows) = insert_statement(rest.len());
            let (now, later) = rest.split_at(rows);
            let mut q = sqlx::query(sql);
            for p in now {
                q = q
                    .bind(p.org_id)
                    .bind(p.customer_id)
                    .bind(&p.customer_name)
                    .bind(gone[&(p.org_id, p.customer_id)])
                    .bind(p.user_id)
                    .bind(&p.user_email)
                    .bind(&p.artifact)
                    .bind(&p.tag)
                    .bind(&p.digest)
                    .bind(p.at)
                    .bind(&p.address)
                    .bind(p.count);
            }
            q.execute(&mut *tx).await?;
            rest = later;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(in crate::store) async fn pulls(
        &self,
        org_id: OrgId,
        query: &PullQuery,
    ) -> StoreResult<Vec<Pull>> {
        // The current name of a customer that still exists; the name at the
        // pull for one that was deleted (even if its id was reused since).
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT p.id, p.at, p.customer_id, \
               COALESCE(c.name, p.customer_name) AS customer, \
               c.id IS NULL AS customer_deleted, \
               p.user_id, p.user_email, p.repository, p.tag, p.digest, p.address, p.count \
             FROM pulls p \
             LEFT JOIN customers c \
               ON c.id = p.customer_id AND c.org_id = p.org_id AND NOT p.customer_gone \
             WHERE p.org_id = ",
        );
        sql.push_bind(org_id);
        if let Some(customer) = query.customer {
            sql.push(" AND p.customer_id = ")
                .push_bind(customer)
                .push(" AND NOT p.customer_gone");
        }
        if let Some(artifact) = &query.artifact {
            sql.push(" AND p.repository = ")
                .push_bind(text(artifact).into_owned());
        }
        if let Some(before) = query.before {
            sql.push(" AND p.id < ").push_bind(before);
        }
        sql.push(" ORDER BY p.id DESC LIMIT ")
            .push_bind(query.limit.max(0));
        let rows: Vec<PullRow> = sql.build_query_as().fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(Pull::from).collect())
    }
}
