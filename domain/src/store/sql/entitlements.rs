//! A customer's entitlements and their grants.

use super::audit::Change;
use super::{unique_or, Conn, SqlStore};
use crate::audit::{Actor, AuditAction};
use crate::changes::ChangeKind;
use crate::entitlements::{EntitlementView, GrantView, TagsInput, ValidEntitlement};
use crate::policy::{AfterExpiry, TagScope};
use crate::store::{StoreError, StoreResult, UnknownGrant};
use crate::{CustomerId, EntitlementId, OrgId};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

impl SqlStore {
    pub(in crate::store) async fn entitlements(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
    ) -> StoreResult<Vec<EntitlementView>> {
        self.customer(org_id, customer_id).await?;
        let mut conn = self.pool.acquire().await?;
        load_entitlements(&mut conn, org_id, "e.customer_id = $2", customer_id.get()).await
    }

    pub(in crate::store) async fn entitlement(
        &self,
        org_id: OrgId,
        id: EntitlementId,
    ) -> StoreResult<EntitlementView> {
        let mut conn = self.pool.acquire().await?;
        load_entitlement(&mut conn, org_id, id).await
    }

    pub(in crate::store) async fn save_entitlement(
        &self,
        org_id: OrgId,
        customer_id: CustomerId,
        id: Option<EntitlementId>,
        e: ValidEntitlement,
        by: &Actor,
    ) -> StoreResult<EntitlementView> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let owned: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1 AND org_id = $2)",
        )
        .bind(customer_id)
        .bind(org_id)
        .fetch_one(&mut *tx)
        .await?;
        if !owned {
            return Err(StoreError::NotFound);
        }
        let before = match id {
            Some(id) => {
                let current = load_entitlement(&mut tx, org_id, id).await?;
                if current.customer_id != customer_id {
                    return Err(StoreError::NotFound);
                }
                Some(current)
            }
            None => None,
        };
        let mut unknown = Vec::new();
        let mut repos = Vec::new();
        for (i, (artifact, grant)) in e.grants.iter().enumerate() {
            let repo: Option<i64> = sqlx::query_scalar(
                "SELECT r.id FROM repositories r WHERE r.org_id = $1 AND r.name = $2 \
                 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)",
            )
            .bind(org_id)
            .bind(artifact)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(repo) = repo else {
                unknown.push(UnknownGrant::Artifact {
                    index: i,
                    artifact: artifact.clone(),
                });
                continue;
            };
            if let TagScope::Only { tags, .. } = grant {
                for tag in tags {
                    let exists: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM tags WHERE repository_id = $1 AND name = $2)",
                    )
                    .bind(repo)
                    .bind(tag)
                    .fetch_one(&mut *tx)
                    .await?;
                    if !exists {
                        unknown.push(UnknownGrant::Tag {
                            index: i,
                            artifact: artifact.clone(),
                            tag: tag.clone(),
                        });
                    }
                }
            }
            repos.push((repo, grant));
        }
        if !unknown.is_empty() {
            return Err(StoreError::UnknownGrants(unknown));
        }
        let taken = |e| unique_or(e, StoreError::EntitlementNameTaken);
        let id = match id {
            Some(id) => {
                sqlx::query("UPDATE entitlements SET name = $1, expires_at = $2, after_expiry = $3, updated_at = $4 WHERE id = $5")
                    .bind(e.name.as_str())
                    .bind(e.expires_at)
                    .bind(e.after_expiry.as_str())
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(taken)?;
                sqlx::query("DELETE FROM entitlement_grants WHERE entitlement_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => sqlx::query_scalar(
                "INSERT INTO entitlements (customer_id, name, expires_at, after_expiry, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(customer_id)
            .bind(e.name.as_str())
            .bind(e.expires_at)
            .bind(e.after_expiry.as_str())
            .bind(now)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(taken)?,
        };
        for (position, (repo, grant)) in repos.into_iter().enumerate() {
            let (all, tags) = match grant {
                TagScope::All => (true, "[]".to_owned()),
                only => (
                    false,
                    serde_json::to_string(&TagsInput::from_scope(only))
                        .map_err(StoreError::internal)?,
                ),
            };
            sqlx::query("INSERT INTO entitlement_grants (entitlement_id, repository_id, position, all_tags, tags) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(repo)
                .bind(position as i64)
                .bind(all)
                .bind(tags)
                .execute(&mut *tx)
                .await?;
        }
        let after = load_entitlement(&mut tx, org_id, id).await?;
        let action = if before.is_some() {
            AuditAction::EntitlementUpdated
        } else {
            AuditAction::EntitlementCreated
        };
        Change::new(customer_id, action, &after.name)
            .before(before.as_ref().map(audit_state))
            .after(audit_state(&after))
            .record(&mut tx, org_id, by)
            .await?;
        self.commit_change(
            tx,
            org_id,
            (Some(customer_id), None),
            ChangeKind::Entitlements,
        )
        .await?;
        Ok(after)
    }

    pub(in crate::store) async fn delete_entitlement(
        &self,
        org_id: OrgId,
        id: EntitlementId,
        by: &Actor,
    ) -> StoreResult<CustomerId> {
        let mut tx = self.begin_write().await?;
        let before = load_entitlement(&mut tx, org_id, id).await?;
        sqlx::query("DELETE FROM entitlements WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Change::new(
            before.customer_id,
            AuditAction::EntitlementDeleted,
            &before.name,
        )
        .before(audit_state(&before))
        .record(&mut tx, org_id, by)
        .await?;
        self.commit_change(
            tx,
            org_id,
            (Some(before.customer_id), None),
            ChangeKind::Entitlements,
        )
        .await?;
        Ok(before.customer_id)
    }
}

/// What the audit trail keeps of an entitlement: the API body's fields.
fn audit_state(e: &EntitlementView) -> serde_json::Value {
    serde_json::json!({
        "name": e.name,
        "expires_at": e.expires_at,
        "after_expiry": e.after_expiry,
        "artifacts": e.artifacts,
    })
}

async fn load_entitlement(
    conn: &mut Conn,
    org_id: OrgId,
    id: EntitlementId,
) -> StoreResult<EntitlementView> {
    load_entitlements(conn, org_id, "e.id = $2", id.get())
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Entitlements of the org matching `condition` (`$2`, bound to
/// `value`), with their grants: two queries whatever the count.
async fn load_entitlements(
    conn: &mut Conn,
    org_id: OrgId,
    condition: &str,
    value: i64,
) -> StoreResult<Vec<EntitlementView>> {
    type Row = (
        EntitlementId,
        CustomerId,
        String,
        Option<DateTime<Utc>>,
        String,
        DateTime<Utc>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT e.id, e.customer_id, e.name, e.expires_at, e.after_expiry, e.created_at, e.updated_at \
             FROM entitlements e JOIN customers c ON c.id = e.customer_id \
             WHERE c.org_id = $1 AND {condition} ORDER BY lower(e.name), e.id"
    ))
    .bind(org_id)
    .bind(value)
    .fetch_all(&mut *conn)
    .await?;
    let grants: Vec<(EntitlementId, String, bool, String)> = sqlx::query_as(&format!(
            "SELECT g.entitlement_id, r.name, g.all_tags, g.tags FROM entitlement_grants g \
             JOIN repositories r ON r.id = g.repository_id \
             JOIN entitlements e ON e.id = g.entitlement_id JOIN customers c ON c.id = e.customer_id \
             WHERE c.org_id = $1 AND {condition} ORDER BY g.entitlement_id, g.position"
        ))
        .bind(org_id)
        .bind(value)
        .fetch_all(&mut *conn)
        .await?;
    let mut by_entitlement: HashMap<EntitlementId, Vec<GrantView>> = HashMap::new();
    for (entitlement, artifact, all, tags) in grants {
        by_entitlement
            .entry(entitlement)
            .or_default()
            .push(GrantView {
                artifact,
                tags: stored_tags(all, &tags)?,
            });
    }
    rows.into_iter()
        .map(
            |(id, customer_id, name, expires_at, after_expiry, created_at, updated_at)| {
                Ok(EntitlementView {
                    id,
                    customer_id,
                    name,
                    expires_at,
                    after_expiry: stored_after_expiry(&after_expiry)?,
                    artifacts: by_entitlement.remove(&id).unwrap_or_default(),
                    created_at,
                    updated_at,
                })
            },
        )
        .collect()
}

/// A grant's `all_tags` and `tags` columns as the API's `tags`.
pub(in crate::store) fn stored_tags(all: bool, tags: &str) -> StoreResult<TagsInput> {
    if all {
        return Ok(TagsInput::Word("all".into()));
    }
    serde_json::from_str(tags).map_err(StoreError::internal)
}

pub(in crate::store) fn stored_after_expiry(s: &str) -> StoreResult<AfterExpiry> {
    AfterExpiry::parse(s).ok_or_else(|| StoreError::internal(format!("unknown after_expiry {s:?}")))
}
