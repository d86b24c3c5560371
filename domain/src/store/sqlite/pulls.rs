//! The pull log for SQLite (migration `0006_pulls.sql`).

use super::SqliteStore;
use crate::pulls::{NewPull, Pull, PullQuery};
use crate::store::StoreResult;
use crate::{CustomerId, OrgId, UserId};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};
use std::collections::hash_map::{Entry, HashMap};
use std::sync::LazyLock;

/// Rows per insert statement: a batch is split greedily into these sizes.
const ROWS: [usize; 4] = [128, 32, 8, 1];

/// `INSERT INTO pulls … VALUES (…), (…)` for each size in [`ROWS`].
static INSERTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ROWS.iter()
        .map(|&n| {
            let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
            format!(
                "INSERT INTO pulls (org_id, customer_id, customer_name, customer_gone, user_id, \
                 user_email, repository, tag, digest, at, address) VALUES {}",
                vec![row; n].join(", ")
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
        }
    }
}

impl SqliteStore {
    /// Writes a batch in one transaction: multi-row inserts of a few fixed
    /// sizes (each a statement prepared once and cached), so that a batch
    /// of 500 is a handful of statements rather than 500 round trips to
    /// the database thread.
    pub(super) async fn record_pulls(&self, pulls: &[NewPull]) -> StoreResult<()> {
        if pulls.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        // A customer deleted before this transaction: its pulls are marked
        // gone here (one query per customer in the batch: usually one);
        // deleted after: the trigger marks them.
        let mut gone: HashMap<(OrgId, CustomerId), bool> = HashMap::new();
        for p in pulls {
            if let Entry::Vacant(e) = gone.entry((p.org_id, p.customer_id)) {
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM customers WHERE id = ? AND org_id = ?)",
                )
                .bind(p.customer_id)
                .bind(p.org_id)
                .fetch_one(&mut *tx)
                .await?;
                e.insert(!exists);
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
                    .bind(&p.address);
            }
            q.execute(&mut *tx).await?;
            rest = later;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn pulls(&self, org_id: OrgId, query: &PullQuery) -> StoreResult<Vec<Pull>> {
        // The current name of a customer that still exists; the name at the
        // pull for one that was deleted (even if its id was reused since).
        let mut sql = QueryBuilder::<Sqlite>::new(
            "SELECT p.id, p.at, p.customer_id, \
               COALESCE(c.name, p.customer_name) AS customer, \
               c.id IS NULL AS customer_deleted, \
               p.user_id, p.user_email, p.repository, p.tag, p.digest, p.address \
             FROM pulls p \
             LEFT JOIN customers c \
               ON c.id = p.customer_id AND c.org_id = p.org_id AND p.customer_gone = 0 \
             WHERE p.org_id = ",
        );
        sql.push_bind(org_id);
        if let Some(customer) = query.customer {
            sql.push(" AND p.customer_id = ")
                .push_bind(customer)
                .push(" AND p.customer_gone = 0");
        }
        if let Some(artifact) = &query.artifact {
            sql.push(" AND p.repository = ")
                .push_bind(artifact.as_str());
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

#[cfg(test)]
mod tests {
    use crate::audit::Actor;
    use crate::pulls::{NewPull, PullQuery};
    use crate::store::sqlite::fixture::{name, Fixture};
    use crate::{CustomerId, OrgId, UserId};
    use chrono::{Duration, Utc};

    fn pull(org_id: OrgId, customer_id: CustomerId, artifact: &str, tag: Option<&str>) -> NewPull {
        NewPull {
            org_id,
            customer_id,
            customer_name: format!("customer {customer_id}"),
            user_id: UserId::from(100 + customer_id.get()),
            user_email: format!("u{customer_id}@c.test"),
            artifact: artifact.into(),
            tag: tag.map(str::to_owned),
            digest: "sha256:aa".into(),
            at: Utc::now(),
            address: "192.0.2.7".into(),
        }
    }

    fn query(customer: Option<CustomerId>, artifact: Option<&str>, limit: i64) -> PullQuery {
        PullQuery {
            customer,
            artifact: artifact.map(str::to_owned),
            before: None,
            limit,
        }
    }

    #[tokio::test]
    async fn pulls_are_read_per_customer_and_per_artifact_newest_first() {
        let s = Fixture::new().await;
        let acme = s.add_org("acme").await.0.id;
        let beta = s.add_org("beta").await.0.id;
        let by = Actor::operator();
        let globex = s.add_customer(acme, "Globex").await;
        let initech = s.add_customer(acme, "Initech").await;
        let t0 = Utc::now() - Duration::minutes(10);
        let mut batch = vec![
            pull(acme, globex.id, "web", Some("1.0")),
            pull(acme, initech.id, "web", None),
            pull(acme, globex.id, "charts/web", Some("2.0")),
            pull(beta, globex.id, "web", Some("1.0")),
        ];
        for (i, p) in batch.iter_mut().enumerate() {
            p.at = t0 + Duration::seconds(i as i64);
        }
        s.record_pulls(&batch).await.unwrap();
        s.record_pulls(&[]).await.unwrap();

        let mine = s
            .pulls(acme, &query(Some(globex.id), None, 50))
            .await
            .unwrap();
        let seen: Vec<(&str, Option<&str>)> = mine
            .iter()
            .map(|p| (p.artifact.as_str(), p.tag.as_deref()))
            .collect();
        assert_eq!(seen, [("charts/web", Some("2.0")), ("web", Some("1.0"))]);
        assert_eq!(mine[0].customer, "Globex");
        assert!(!mine[0].customer_deleted);
        assert_eq!(mine[0].user_email, format!("u{}@c.test", globex.id));
        assert_eq!(mine[0].address, "192.0.2.7");
        assert_eq!(mine[1].at, t0);

        let web = s.pulls(acme, &query(None, Some("web"), 50)).await.unwrap();
        let who: Vec<(&str, Option<&str>)> = web
            .iter()
            .map(|p| (p.customer.as_str(), p.tag.as_deref()))
            .collect();
        assert_eq!(who, [("Initech", None), ("Globex", Some("1.0"))]);

        // Limit and paging by id; the whole org; another org sees only its own.
        let first = s.pulls(acme, &query(None, None, 2)).await.unwrap();
        assert_eq!(first.len(), 2);
        let rest = s
            .pulls(
                acme,
                &PullQuery {
                    before: Some(first[1].id),
                    ..query(None, None, 10)
                },
            )
            .await
            .unwrap();
        assert_eq!(rest.len(), 1);
        assert!(rest[0].id < first[1].id);
        let theirs = s.pulls(beta, &query(None, None, 50)).await.unwrap();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].customer, format!("customer {}", globex.id));
        assert!(theirs[0].customer_deleted, "not acme's customer");

        // A rename shows at once; a deleted customer keeps its pulls under
        // its name at the pull, and a new customer (which never gets its
        // id: they are not reused) does not inherit them.
        s.rename_customer(acme, initech.id, name("Initrode"), &by)
            .await
            .unwrap();
        let web = s.pulls(acme, &query(None, Some("web"), 50)).await.unwrap();
        assert_eq!(web[0].customer, "Initrode");
        s.delete_customer(acme, initech.id, &by).await.unwrap();
        // A pull still in the writer's buffer when the customer went.
        s.record_pulls(&[pull(acme, initech.id, "web", Some("late"))])
            .await
            .unwrap();
        let hooli = s.add_customer(acme, "Hooli").await;
        assert!(hooli.id > initech.id, "ids are never reused");
        assert!(s
            .pulls(acme, &query(Some(hooli.id), None, 50))
            .await
            .unwrap()
            .is_empty());
        let web = s.pulls(acme, &query(None, Some("web"), 50)).await.unwrap();
        let who: Vec<(String, bool)> = web
            .iter()
            .map(|p| (p.customer_label(), p.customer_deleted))
            .collect();
        assert_eq!(
            who,
            [
                (format!("customer {} (deleted)", initech.id), true),
                (format!("customer {} (deleted)", initech.id), true),
                ("Globex".to_owned(), false),
            ]
        );
    }

    #[tokio::test]
    async fn a_large_batch_is_written_whole_and_in_order() {
        let s = Fixture::new().await;
        let acme = s.add_org("acme").await.0.id;
        let globex = s.add_customer(acme, "Globex").await;
        let gone = s.add_customer(acme, "Gone").await;
        s.delete_customer(acme, gone.id, &Actor::operator())
            .await
            .unwrap();
        // 128 + 2 × 32 + 8 + 1 rows: every statement size.
        let n = 201;
        let batch: Vec<NewPull> = (0..n)
            .map(|i| {
                let c = if i % 3 == 0 { gone.id } else { globex.id };
                pull(acme, c, "web", Some(&i.to_string()))
            })
            .collect();
        s.record_pulls(&batch).await.unwrap();
        let read = s.pulls(acme, &query(None, None, 1000)).await.unwrap();
        let seen: Vec<(String, bool)> = read
            .iter()
            .rev()
            .map(|p| (p.tag.clone().unwrap(), p.customer_deleted))
            .collect();
        let want: Vec<(String, bool)> = (0..n).map(|i| (i.to_string(), i % 3 == 0)).collect();
        assert_eq!(seen, want);
    }
}
