//! The pull log for PostgreSQL (migration `0006_pulls.sql`).

use super::{text, PgStore};
use crate::pulls::{NewPull, Pull, PullQuery};
use crate::store::StoreResult;
use crate::{CustomerId, OrgId, UserId};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use std::collections::hash_map::{Entry, HashMap};

/// Rows per insert statement (11 parameters each, well under PostgreSQL's
/// 65535).
const ROWS: usize = 1000;

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

impl PgStore {
    /// Writes a batch in one transaction: multi-row inserts of up to
    /// [`ROWS`] rows, so that a batch is a statement or a few rather than
    /// one round trip per pull. (No writer queue as in SQLite: PostgreSQL
    /// takes concurrent writers.)
    pub(super) async fn record_pulls(&self, pulls: &[NewPull]) -> StoreResult<()> {
        if pulls.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        // A customer deleted before this transaction: its pulls are marked
        // gone here (one query per customer in the batch: usually one); the
        // row lock (FOR SHARE) makes a deletion wait for this commit, after
        // which the trigger marks them.
        let mut gone: HashMap<(OrgId, CustomerId), bool> = HashMap::new();
        for p in pulls {
            if let Entry::Vacant(e) = gone.entry((p.org_id, p.customer_id)) {
                let exists: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM customers WHERE id = $1 AND org_id = $2 FOR SHARE",
                )
                .bind(p.customer_id)
                .bind(p.org_id)
                .fetch_optional(&mut *tx)
                .await?;
                e.insert(exists.is_none());
            }
        }
        for chunk in pulls.chunks(ROWS) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO pulls (org_id, customer_id, customer_name, customer_gone, user_id, \
                 user_email, repository, tag, digest, at, address, count) ",
            );
            q.push_values(chunk, |mut row, p| {
                row.push_bind(p.org_id)
                    .push_bind(p.customer_id)
                    .push_bind(&p.customer_name)
                    .push_bind(gone[&(p.org_id, p.customer_id)])
                    .push_bind(p.user_id)
                    .push_bind(&p.user_email)
                    .push_bind(&p.artifact)
                    .push_bind(&p.tag)
                    .push_bind(&p.digest)
                    .push_bind(p.at)
                    .push_bind(&p.address)
                    .push_bind(p.count);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn pulls(&self, org_id: OrgId, query: &PullQuery) -> StoreResult<Vec<Pull>> {
        // The current name of a customer that still exists; the name at the
        // pull for one that was deleted (even if its id was reused since).
        let mut sql = QueryBuilder::<Postgres>::new(
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
