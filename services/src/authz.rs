//! Who may do what: the one vocabulary of authorization. Every front door
//! (server functions, `/api/v1`, `/v2/`) asks these, with a [`Need`].
//!
//! - Vendor users act in their own organization: [`Need::Read`] any role,
//!   [`Need::Write`] (push, customers, entitlements) `admin` and
//!   `read_write`, [`Need::Admin`] (users, settings) `admin`.
//! - Customer users read what their entitlements allow (SPEC §3) and write
//!   nothing of the organization's.

use crate::error::{ServiceError, ServiceResult};
use domain::{CustomerId, OrgId, Principal, UserId, VendorRole};

/// What a caller needs to be allowed to do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read the organization's data (any vendor role); for the registry, pull.
    Read,
    /// Change it (`admin`, `read_write`); for the registry, push and delete.
    Write,
    /// Manage its users and settings (`admin`).
    Admin,
}

impl Need {
    /// Whether `role` meets this need.
    pub fn allows(self, role: VendorRole) -> bool {
        match self {
            Need::Read => true,
            Need::Write => role.can_write(),
            Need::Admin => role.is_admin(),
        }
    }
}

impl Need {
    /// Whether `p` is a vendor user whose role meets this need (what a page
    /// shows: a Save button, a Remove link).
    pub fn allows_principal(self, p: &Principal) -> bool {
        p.vendor_role().is_some_and(|role| self.allows(role))
    }
}

/// A vendor user acting in its own organization.
#[derive(Debug, Clone)]
pub struct VendorCaller {
    pub user_id: UserId,
    pub email: String,
    pub org_id: OrgId,
    pub org_slug: String,
    pub role: VendorRole,
}

impl VendorCaller {
    /// The caller, as the audit trail records it.
    pub fn actor(&self) -> domain::audit::Actor {
        domain::audit::Actor::user(self.user_id, self.email.clone())
    }
}

/// Why a principal was refused, for front doors that say which rule it was
/// (the registry's `DENIED` messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A customer user asked for a vendor's action.
    Customer,
    /// A vendor user whose role does not allow it.
    Role,
}

/// Why `p` may not do what `need` asks of a vendor user; `None` when it may
/// (nothing is copied: the registry asks this on every push).
pub fn refusal(p: &Principal, need: Need) -> Option<Refusal> {
    match p {
        Principal::Customer { .. } => Some(Refusal::Customer),
        Principal::Vendor { role, .. } => (!need.allows(*role)).then_some(Refusal::Role),
    }
}

/// A vendor user with a role that meets `need`, or why not.
pub fn vendor_or_refusal(p: &Principal, need: Need) -> Result<VendorCaller, Refusal> {
    if let Some(refused) = refusal(p, need) {
        return Err(refused);
    }
    match p {
        Principal::Vendor {
            user_id,
            email,
            org_id,
            org_slug,
            role,
            ..
        } => Ok(VendorCaller {
            user_id: *user_id,
            email: email.clone(),
            org_id: *org_id,
            org_slug: org_slug.clone(),
            role: *role,
        }),
        Principal::Customer { .. } => Err(Refusal::Customer),
    }
}

/// A vendor user with a role that meets `need`; otherwise `Forbidden`.
pub fn vendor(p: &Principal, need: Need) -> ServiceResult<VendorCaller> {
    vendor_or_refusal(p, need).map_err(|_| ServiceError::Forbidden)
}

/// A customer user.
#[derive(Debug, Clone)]
pub struct CustomerCaller {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub customer_id: CustomerId,
    pub email: String,
    /// The vendor org's slug: the registry namespace.
    pub org_slug: String,
    /// The vendor org's name: whom to ask for access.
    pub org_name: String,
    /// The same caller, for [`crate::Services::visibility`] and friends.
    pub principal: Principal,
}

/// A customer user; a vendor user is `Forbidden`.
pub fn customer(p: &Principal) -> ServiceResult<CustomerCaller> {
    match p {
        Principal::Vendor { .. } => Err(ServiceError::Forbidden),
        Principal::Customer {
            user_id,
            org_id,
            customer_id,
            email,
            org_slug,
            org_name,
            ..
        } => Ok(CustomerCaller {
            user_id: *user_id,
            org_id: *org_id,
            customer_id: *customer_id,
            email: email.clone(),
            org_slug: org_slug.clone(),
            org_name: org_name.clone(),
            principal: p.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vendor_with(role: VendorRole) -> Principal {
        Principal::Vendor {
            user_id: UserId::from(1),
            email: "a@example.com".into(),
            role,
            org_id: OrgId::from(7),
            org_slug: "acme".into(),
            org_name: "Acme".into(),
        }
    }

    #[test]
    fn roles_meet_needs() {
        use VendorRole::*;
        let table = [
            (Admin, [true, true, true]),
            (ReadWrite, [true, true, false]),
            (ReadOnly, [true, false, false]),
        ];
        for (role, expected) in table {
            let p = vendor_with(role);
            for (need, ok) in [Need::Read, Need::Write, Need::Admin]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(vendor(&p, need).is_ok(), ok, "{role:?} {need:?}");
            }
        }
        assert_eq!(
            vendor_or_refusal(&vendor_with(ReadOnly), Need::Write).unwrap_err(),
            Refusal::Role
        );
    }

    #[test]
    fn customers_get_no_vendor_rights() {
        let p = Principal::Customer {
            user_id: UserId::from(2),
            email: "c@example.com".into(),
            role: domain::CustomerRole::Member,
            org_id: OrgId::from(7),
            org_slug: "acme".into(),
            org_name: "Acme".into(),
            customer_id: CustomerId::from(3),
            customer_name: "Globex".into(),
        };
        assert_eq!(
            vendor_or_refusal(&p, Need::Read).unwrap_err(),
            Refusal::Customer
        );
        assert_eq!(customer(&p).unwrap().customer_id, CustomerId::from(3));
        assert!(customer(&vendor_with(VendorRole::Admin)).is_err());
    }
}
