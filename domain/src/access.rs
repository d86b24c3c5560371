//! What each customer may see, compiled and kept in memory so that a
//! registry decision costs no database round trip. Two maps: the org facts
//! rule 1 depends on, by org, and each customer's entitlements with the
//! [`Visibility`] compiled from them, by customer. A customer's compiled
//! view remembers the org facts it was built from and the first instant at
//! which an expiry (or a trial end) changes it; a lookup that finds either
//! stale recompiles it from memory. Every relevant write evicts through the
//! change feed ([`crate::changes`]), and a generation counter keeps a load
//! that raced with an eviction out of the maps.

use crate::changes::{Change, ChangeKind};
use crate::policy::{self, Entitlement, OrgFacts, Visibility};
use crate::store::{Store, StoreResult};
use crate::{CustomerId, OrgId};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// A customer's entitlements and what they compile to, at some moment.
#[derive(Debug)]
pub struct CustomerAccess {
    pub org_id: OrgId,
    pub entitlements: Vec<Entitlement>,
    /// The org facts `visibility` was compiled with.
    pub org: OrgFacts,
    pub visibility: Visibility,
    /// When an expiry or the trial end next changes `visibility`.
    pub valid_until: Option<DateTime<Utc>>,
}

impl CustomerAccess {
    pub fn compile(
        org_id: OrgId,
        org: OrgFacts,
        entitlements: Vec<Entitlement>,
        now: DateTime<Utc>,
    ) -> Self {
        let visibility = policy::visibility(org, &entitlements, now);
        let valid_until = entitlements
            .iter()
            .filter_map(|e| e.expires_at)
            .chain(org.trial_ends_at)
            .filter(|t| *t > now)
            .min();
        Self {
            org_id,
            entitlements,
            org,
            visibility,
            valid_until,
        }
    }

    /// Everything of the org (a vendor user's view).
    pub fn everything(org_id: OrgId) -> Self {
        Self {
            org_id,
            entitlements: vec![],
            org: OrgFacts {
                plan: crate::Plan::Community,
                trial_ends_at: None,
                has_entitlements: false,
            },
            visibility: Visibility::Everything,
            valid_until: None,
        }
    }

    fn is_current(&self, org: &OrgFacts, now: DateTime<Utc>) -> bool {
        self.org == *org && self.valid_until.is_none_or(|t| now < t)
    }
}

#[derive(Default)]
pub struct AccessCache {
    orgs: RwLock<HashMap<OrgId, OrgFacts>>,
    customers: RwLock<HashMap<CustomerId, Arc<CustomerAccess>>>,
    generation: AtomicU64,
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache").finish_non_exhaustive()
    }
}

/// Past this many customers the map starts over (bounds memory).
const MAX_CUSTOMERS: usize = 200_000;

impl AccessCache {
    /// What `customer` of `org` may see at `now`: from memory when cached
    /// and current, else one query per missing part.
    pub async fn customer(
        &self,
        store: &dyn Store,
        org_id: OrgId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> StoreResult<Arc<CustomerAccess>> {
        if let Some(a) = self.current(org_id, customer, now) {
            return Ok(a);
        }
        // Read before anything: whatever is built from what is read after
        // this point is kept only if no eviction happened meanwhile.
        let generation = self.generation();
        let org = self.org_facts(store, org_id).await?;
        let cached = self
            .customers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&customer)
            .cloned();
        let access = match cached {
            Some(a) if a.is_current(&org, now) => return Ok(a),
            // Stale by time or org facts: recompile from memory.
            Some(a) => CustomerAccess::compile(org_id, org, a.entitlements.clone(), now),
            None => {
                let entitlements = store.policy_entitlements(org_id, customer).await?;
                CustomerAccess::compile(org_id, org, entitlements, now)
            }
        };
        let access = Arc::new(access);
        let mut map = self.customers.write().unwrap_or_else(|e| e.into_inner());
        // Evictions bump the generation while holding this lock: checked
        // here, a racing eviction cannot slip in before the insert.
        if self.generation() == generation {
            if map.len() >= MAX_CUSTOMERS {
                map.clear();
            }
            map.insert(customer, access.clone());
        }
        Ok(access)
    }

    /// The hot path: the customer's compiled view when it is cached and
    /// current (two map lookups, no I/O); `None` sends the caller to
    /// [`AccessCache::customer`].
    pub fn current(
        &self,
        org_id: OrgId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Option<Arc<CustomerAccess>> {
        let org = *self
            .orgs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&org_id)?;
        let access = self
            .customers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&customer)?
            .clone();
        access.is_current(&org, now).then_some(access)
    }

    /// The facts rule 1 needs about an org.
    pub async fn org_facts(&self, store: &dyn Store, org_id: OrgId) -> StoreResult<OrgFacts> {
        if let Some(f) = self
            .orgs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&org_id)
        {
            return Ok(*f);
        }
        let generation = self.generation();
        let facts = store.org_facts(org_id).await?;
        let mut map = self.orgs.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() == generation {
            map.insert(org_id, facts);
        }
        Ok(facts)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forgets what `change` makes stale. Called synchronously by the
    /// change hub after the write committed, before the writer answers.
    pub fn apply(&self, change: &Change) {
        if matches!(
            change.kind,
            ChangeKind::Tagged | ChangeKind::Repository | ChangeKind::Upstream
        ) {
            // A push changes no one's grants (rules are matched at decision time).
            return;
        }
        let mut orgs = self.orgs.write().unwrap_or_else(|e| e.into_inner());
        let mut customers = self.customers.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        match change.kind {
            // Rule 1 depends on whether the org has any entitlement: the
            // org's facts reload, and each customer's view is recompiled
            // from memory when the facts it was built from differ.
            ChangeKind::Entitlements | ChangeKind::CustomerRemoved => {
                orgs.remove(&change.org_id);
                if let Some(c) = change.customer_id {
                    customers.remove(&c);
                }
            }
            ChangeKind::Plan => {
                orgs.remove(&change.org_id);
            }
            ChangeKind::UserChanged
            | ChangeKind::TokenRevoked
            | ChangeKind::Tagged
            | ChangeKind::Repository
            | ChangeKind::Upstream => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::tests::{all, ent, now};
    use crate::Plan;
    use chrono::Duration;

    #[test]
    fn compiled_view_knows_when_it_goes_stale() {
        let org = OrgFacts {
            plan: Plan::ProTrial,
            trial_ends_at: Some(now() + Duration::days(10)),
            has_entitlements: true,
        };
        let e = ent(Some(3), vec![all("web")]);
        let a = CustomerAccess::compile(OrgId::from(1), org, vec![e], now());
        assert!(a.visibility.tag_allowed("web", "1.0"));
        assert_eq!(a.valid_until, Some(now() + Duration::days(3)));
        assert!(a.is_current(&org, now() + Duration::days(2)));
        assert!(!a.is_current(&org, now() + Duration::days(3)), "expiry");
        let other = OrgFacts {
            has_entitlements: false,
            ..org
        };
        assert!(!a.is_current(&other, now()), "org facts changed");
    }
}
