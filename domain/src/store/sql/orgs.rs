//! Organizations: first run, lookups, plans.

use super::users::insert_vendor_user;
use super::{unique_or, SqlStore};
use crate::changes::ChangeKind;
use crate::store::{NewOrg, StoreError, StoreResult};
use crate::{Email, Org, OrgId, OrgSlug, Plan, VendorRole, VendorUser};
use chrono::{DateTime, Utc};

const ORG_COLUMNS: &str = "id, slug, name, plan, trial_ends_at, immutable_tags, created_at";

impl SqlStore {
    pub(in crate::store) async fn has_orgs(&self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orgs)")
            .fetch_one(&self.pool)
            .await?)
    }

    pub(in crate::store) async fn create_org_with_admin(
        &self,
        org: NewOrg,
        admin_email: Email,
        password_hash: String,
        only_if_first: bool,
    ) -> StoreResult<(Org, VendorUser)> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        if only_if_first {
            // One first run at a time: the check and the insert are one
            // atomic step.
            SqlStore::lock_first_run(&mut tx).await?;
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orgs)")
                .fetch_one(&mut *tx)
                .await?;
            if exists {
                return Err(StoreError::AlreadySetUp);
            }
        }
        let created: Org = sqlx::query_as(&format!(
            "INSERT INTO orgs (slug, name, plan, trial_ends_at, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {ORG_COLUMNS}"
        ))
        .bind(org.slug.as_str())
        .bind(org.name.as_str())
        .bind(org.plan.as_str())
        .bind(org.trial_ends_at)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_or(e, StoreError::SlugTaken(org.slug.clone())))?;
        let admin = (
            created.id,
            &admin_email,
            password_hash.as_str(),
            VendorRole::Admin,
        );
        let admin = insert_vendor_user(&mut tx, admin, now).await?;
        tx.commit().await?;
        Ok((created, admin))
    }

    pub(in crate::store) async fn org_by_slug(&self, slug: &OrgSlug) -> StoreResult<Org> {
        Ok(
            sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE slug = $1"))
                .bind(slug.as_str())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub(in crate::store) async fn org(&self, id: OrgId) -> StoreResult<Org> {
        Ok(
            sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1"))
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub(in crate::store) async fn set_plan(
        &self,
        slug: &OrgSlug,
        plan: Plan,
        trial_ends_at: Option<DateTime<Utc>>,
    ) -> StoreResult<Org> {
        let trial_ends_at = if plan == Plan::ProTrial {
            trial_ends_at
        } else {
            None
        };
        let mut tx = self.begin_write().await?;
        let org: Org = sqlx::query_as(&format!(
            "UPDATE orgs SET plan = $1, trial_ends_at = $2 WHERE slug = $3 RETURNING {ORG_COLUMNS}"
        ))
        .bind(plan.as_str())
        .bind(trial_ends_at)
        .bind(slug.as_str())
        .fetch_one(&mut *tx)
        .await?;
        self.commit_change(tx, org.id, (None, None), ChangeKind::Plan)
            .await?;
        Ok(org)
    }
}
