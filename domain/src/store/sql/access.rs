//! [`AccessStore`], and [`note_change`], which every write that
//! matters to access calls inside its transaction.

use super::entitlements::{stored_after_expiry, stored_tags};
use super::{Conn, Db, SqlStore};
use crate::changes::{Change, ChangeHub, ChangeKind};
use crate::policy::{Entitlement, Grant, OrgFacts, RepoGraph};
use crate::store::access::AccessStore;
use crate::store::registry::RepoId;
use crate::store::{StoreError, StoreResult};
use crate::{CustomerId, OrgId, Plan, UserId};
use chrono::{DateTime, Utc};
use sqlx::Transaction;
use std::collections::HashMap;

type ChangeRow = (
    i64,
    OrgId,
    Option<CustomerId>,
    Option<UserId>,
    String,
    Option<String>,
    Option<String>,
);
const CHANGE_COLUMNS: &str = "id, org_id, customer_id, user_id, kind, artifact, tag";

fn changes(rows: Vec<ChangeRow>) -> Vec<Change> {
    rows.into_iter()
        .filter_map(|(id, org_id, customer_id, user_id, kind, artifact, tag)| {
            Some(Change {
                id,
                org_id,
                customer_id,
                user_id,
                kind: ChangeKind::parse(&kind)?,
                tagged: artifact.zip(tag),
            })
        })
        .collect()
}

/// Appends to the change feed inside the caller's transaction; publish the
/// returned change with `published` after the commit.
pub(in crate::store) async fn note_change(
    conn: &mut Conn,
    org_id: OrgId,
    customer_id: Option<CustomerId>,
    user_id: Option<UserId>,
    kind: ChangeKind,
) -> StoreResult<Change> {
    SqlStore::append_change(conn, unsaved(org_id, customer_id, user_id, kind)).await
}

/// A change not yet in the feed (the feed gives it its id), of no artifact.
fn unsaved(
    org_id: OrgId,
    customer_id: Option<CustomerId>,
    user_id: Option<UserId>,
    kind: ChangeKind,
) -> Change {
    Change {
        id: 0,
        org_id,
        customer_id,
        user_id,
        kind,
        tagged: None,
    }
}

/// Notes in the change feed that `tag` of `artifact` was pushed or moved.
pub(in crate::store) async fn note_tagged(
    conn: &mut Conn,
    org_id: OrgId,
    artifact: &str,
    tag: &str,
) -> StoreResult<Change> {
    let tagged = (artifact.to_owned(), tag.to_owned());
    note_artifact(conn, org_id, ChangeKind::Tagged, tagged).await
}

/// Notes in the change feed that the content of repository `repo` changed
/// otherwise than by a tag push (registry caches on every instance evict it).
pub(in crate::store) async fn note_repository(
    conn: &mut Conn,
    repo: RepoId,
) -> StoreResult<Change> {
    let (org_id, artifact): (OrgId, String) =
        sqlx::query_as("SELECT org_id, name FROM repositories WHERE id = $1")
            .bind(repo)
            .fetch_one(&mut *conn)
            .await?;
    note_artifact(
        conn,
        org_id,
        ChangeKind::Repository,
        (artifact, String::new()),
    )
    .await
}

/// Notes in the change feed a change of `kind` to an artifact (`tagged`: the
/// artifact and the tag, empty for none).
async fn note_artifact(
    conn: &mut Conn,
    org_id: OrgId,
    kind: ChangeKind,
    tagged: (String, String),
) -> StoreResult<Change> {
    let change = Change {
        tagged: Some(tagged),
        ..unsaved(org_id, None, None, kind)
    };
    SqlStore::append_change(conn, change).await
}

/// The change feed's insert of `change` as a query for the backend's
/// `append_change`: `sql` takes org, customer, user, kind, artifact, tag and
/// the time as `$1` to `$7` and returns the new row's id; the backend binds
/// whatever else its statement takes.
pub(in crate::store) fn insert_change<'q>(
    sql: &'q str,
    change: &Change,
) -> sqlx::query::QueryScalar<'q, Db, i64, <Db as sqlx::Database>::Arguments<'q>> {
    let (artifact, tag) = change.tagged.clone().unzip();
    sqlx::query_scalar(sql)
        .bind(change.org_id)
        .bind(change.customer_id)
        .bind(change.user_id)
        .bind(change.kind.as_str())
        .bind(artifact)
        .bind(tag)
        .bind(Utc::now())
}

impl SqlStore {
    /// Notes a change of `kind` in `tx`, commits, and publishes it.
    pub(in crate::store) async fn commit_change(
        &self,
        mut tx: Transaction<'_, Db>,
        org_id: OrgId,
        (customer_id, user_id): (Option<CustomerId>, Option<UserId>),
        kind: ChangeKind,
    ) -> StoreResult<()> {
        let change = note_change(&mut tx, org_id, customer_id, user_id, kind).await?;
        tx.commit().await?;
        self.published(vec![change]).await;
        Ok(())
    }
}

#[async_trait::async_trait]
impl AccessStore for SqlStore {
    async fn org_facts(&self, org_id: OrgId) -> StoreResult<OrgFacts> {
        let (plan, trial_ends_at, has_entitlements): (String, Option<DateTime<Utc>>, bool) =
            sqlx::query_as(
                "SELECT o.plan, o.trial_ends_at, EXISTS (SELECT 1 FROM entitlements e \
                 JOIN customers c ON c.id = e.customer_id WHERE c.org_id = o.id) \
                 FROM orgs o WHERE o.id = $1",
            )
            .bind(org_id)
            .fetch_one(self.pool())
            .await?;
        Ok(OrgFacts {
            plan: Plan::parse(&plan).map_err(StoreError::internal)?,
            trial_ends_at,
            has_entitlements,
        })
    }

    async fn policy_entitlements(
        &self,
        org_id: OrgId,
        customer: CustomerId,
    ) -> StoreResult<Vec<Entitlement>> {
        type Row = (
            i64,
            Option<DateTime<Utc>>,
            String,
            Option<String>,
            Option<bool>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT e.id, e.expires_at, e.after_expiry, r.name, g.all_tags, g.tags FROM entitlements e \
                 JOIN customers c ON c.id = e.customer_id \
                 LEFT JOIN entitlement_grants g ON g.entitlement_id = e.id \
                 LEFT JOIN repositories r ON r.id = g.repository_id \
                 WHERE c.id = $1 AND c.org_id = $2 ORDER BY e.id, g.position",
        )
        .bind(customer)
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(i64, Entitlement)> = Vec::new();
        for (id, expires_at, after_expiry, artifact, all, tags) in rows {
            if out.last().is_none_or(|(last, _)| *last != id) {
                out.push((
                    id,
                    Entitlement {
                        expires_at,
                        after_expiry: stored_after_expiry(&after_expiry)?,
                        grants: vec![],
                    },
                ));
            }
            let (Some(artifact), Some(all)) = (artifact, all) else {
                continue;
            };
            let tags = stored_tags(all, tags.as_deref().unwrap_or("[]"))?
                .to_scope()
                .map_err(StoreError::internal)?;
            if let Some((_, e)) = out.last_mut() {
                e.grants.push(Grant { artifact, tags });
            }
        }
        Ok(out.into_iter().map(|(_, e)| e).collect())
    }

    async fn repo_graph(&self, repo: RepoId) -> StoreResult<RepoGraph> {
        let mut conn = self.pool().acquire().await?;
        let tags: Vec<(String, String)> = sqlx::query_as(
            "SELECT t.name, m.digest FROM tags t JOIN manifests m ON m.id = t.manifest_id \
             WHERE t.repository_id = $1",
        )
        .bind(repo)
        .fetch_all(&mut *conn)
        .await?;
        let tag_history: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT tag, digest, pushed_at FROM tag_history WHERE repository_id = $1",
        )
        .bind(repo)
        .fetch_all(&mut *conn)
        .await?;
        let subjects: Vec<(String, String)> = sqlx::query_as(
            "SELECT subject_digest, digest FROM manifests \
             WHERE repository_id = $1 AND subject_digest IS NOT NULL",
        )
        .bind(repo)
        .fetch_all(&mut *conn)
        .await?;
        let refs: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT m.digest, r.digest, r.kind FROM manifest_refs r \
             JOIN manifests m ON m.id = r.manifest_id WHERE m.repository_id = $1",
        )
        .bind(repo)
        .fetch_all(&mut *conn)
        .await?;
        let mut graph = RepoGraph {
            tags: tags.into_iter().collect(),
            tag_history,
            ..RepoGraph::default()
        };
        for (subject, digest) in subjects {
            graph.referrers.entry(subject).or_default().push(digest);
        }
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for (manifest, digest, kind) in refs {
            let map = if kind == "manifest" {
                &mut children
            } else {
                &mut graph.blobs
            };
            map.entry(manifest).or_default().push(digest);
        }
        graph.children = children;
        Ok(graph)
    }

    fn change_hub(&self) -> &std::sync::Arc<ChangeHub> {
        &self.hub
    }

    async fn changes_since(&self, after: i64, limit: i64) -> StoreResult<Vec<Change>> {
        let rows: Vec<ChangeRow> = sqlx::query_as(&format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(changes(rows))
    }

    async fn org_changes_after(
        &self,
        org_id: OrgId,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<Change>> {
        let rows: Vec<ChangeRow> = sqlx::query_as(&format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(org_id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(changes(rows))
    }

    async fn last_change_id(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM changes")
                .fetch_one(self.pool())
                .await?,
        )
    }

    async fn report_applied(&self, instance: &str, applied: Option<i64>) -> StoreResult<()> {
        match applied {
            Some(id) => {
                sqlx::query(
                    "INSERT INTO change_readers (instance, applied_id, seen_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (instance) DO UPDATE SET applied_id = excluded.applied_id, seen_at = excluded.seen_at",
                )
                .bind(instance)
                .bind(id)
                .bind(Utc::now())
                .execute(self.pool())
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM change_readers WHERE instance = $1")
                    .bind(instance)
                    .execute(self.pool())
                    .await?;
            }
        }
        Ok(())
    }

    async fn all_applied(&self, id: i64, alive_since: DateTime<Utc>) -> StoreResult<bool> {
        let behind: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM change_readers WHERE seen_at >= $1 AND applied_id < $2)",
        )
        .bind(alive_since)
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(!behind)
    }

    async fn prune_changes(&self) -> StoreResult<()> {
        let day_ago = Utc::now() - chrono::Duration::days(1);
        sqlx::query("DELETE FROM changes WHERE at < $1")
            .bind(day_ago)
            .execute(self.pool())
            .await?;
        sqlx::query("DELETE FROM change_readers WHERE seen_at < $1")
            .bind(day_ago)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
