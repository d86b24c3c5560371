//! Organizations: first run, lookups, plans.

use super::users::{VendorUserRow, VENDOR_USER_COLUMNS};
use super::{unique_or, SqlStore};
use crate::changes::ChangeKind;
use crate::store::{NewOrg, StoreError, StoreResult};
use crate::{Email, Org, OrgId, OrgSlug, Plan, VendorUser};
use chrono::{DateTime, Utc};

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: OrgId,
    slug: String,
    name: String,
    plan: String,
    trial_ends_at: Option<DateTime<Utc>>,
    immutable_tags: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<OrgRow> for Org {
    type Error = StoreError;
    fn try_from(r: OrgRow) -> Result<Self, Self::Error> {
        Ok(Org {
            id: r.id,
            slug: r.slug,
            name: r.name,
            plan: Plan::parse(&r.plan).map_err(StoreError::internal)?,
            trial_ends_at: r.trial_ends_at,
            immutable_tags: r.immutable_tags,
            created_at: r.created_at,
        })
    }
}

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
        let org_row: OrgRow = sqlx::query_as(&format!(
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
        let user_row: VendorUserRow = sqlx::query_as(&format!(
            "INSERT INTO users (org_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, 'admin', $4) RETURNING {VENDOR_USER_COLUMNS}"
        ))
        .bind(org_row.id)
        .bind(admin_email.as_str())
        .bind(&password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_or(e, StoreError::EmailTaken))?;
        tx.commit().await?;
        Ok((org_row.try_into()?, user_row.try_into()?))
    }

    pub(in crate::store) async fn org_by_slug(&self, slug: &OrgSlug) -> StoreResult<Org> {
        let row: OrgRow =
            sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE slug = $1"))
                .bind(slug.as_str())
                .fetch_one(&self.pool)
                .await?;
        row.try_into()
    }

    pub(in crate::store) async fn org(&self, id: OrgId) -> StoreResult<Org> {
        let row: OrgRow = sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        row.try_into()
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
        let row: OrgRow = sqlx::query_as(&format!(
            "UPDATE orgs SET plan = $1, trial_ends_at = $2 WHERE slug = $3 RETURNING {ORG_COLUMNS}"
        ))
        .bind(plan.as_str())
        .bind(trial_ends_at)
        .bind(slug.as_str())
        .fetch_one(&mut *tx)
        .await?;
        self.commit_change(tx, row.id, (None, None), ChangeKind::Plan)
            .await?;
        row.try_into()
    }
}
