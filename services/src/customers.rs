//! A vendor organization's customers and their users.

use crate::authz::{self, Need};
use crate::error::{ServiceError, ServiceResult};
use crate::Services;
use chrono::{DateTime, Utc};
use domain::audit::AuditEvent;
use domain::paging::{CustomerQuery, Page};
use domain::password_links::{self, AddedUser};
use domain::{
    Customer, CustomerId, CustomerRole, CustomerSummary, CustomerUser, DisplayName, Invitee,
    Principal, UserId,
};

/// A customer user just added. With a one-time link, `set_password_url` is
/// the link: shown once, never stored.
#[derive(Debug, Clone)]
pub struct AddedCustomerUser {
    pub id: UserId,
    pub email: String,
    pub role: CustomerRole,
    pub set_password_url: Option<String>,
    pub set_password_expires_at: Option<DateTime<Utc>>,
}

/// A user to add to a customer, as typed.
#[derive(Debug, Clone, Copy)]
pub struct NewCustomerUser<'a> {
    pub email: &'a str,
    /// The first password; `None` with `invite`.
    pub password: Option<&'a str>,
    /// A one-time set-password link instead of a password.
    pub invite: bool,
    pub role: &'a str,
}

impl Services {
    /// A page of the org's customers by name, those whose name contains
    /// `query.search` (the Licenses page, `GET /api/v1/customers`). Any
    /// vendor user.
    pub async fn customers(
        &self,
        p: &Principal,
        query: &CustomerQuery,
    ) -> ServiceResult<Page<CustomerSummary>> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self.store.customers(me.org_id, query).await?)
    }

    /// One customer of the caller's org (another org's is not found). Any
    /// vendor user.
    pub async fn customer(&self, p: &Principal, id: CustomerId) -> ServiceResult<Customer> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self.store.customer(me.org_id, id).await?)
    }

    /// One customer of the caller's org with its users. Any vendor user.
    pub async fn customer_with_users(
        &self,
        p: &Principal,
        id: CustomerId,
    ) -> ServiceResult<(Customer, Vec<CustomerUser>)> {
        let me = authz::vendor(p, Need::Read)?;
        let customer = self.store.customer(me.org_id, id).await?;
        Ok((customer, self.store.customer_users(me.org_id, id).await?))
    }

    /// Who changed the customer, its users and its entitlements: the last
    /// `limit` events, newest first. Any vendor user.
    pub async fn customer_audit(
        &self,
        p: &Principal,
        id: CustomerId,
        limit: i64,
    ) -> ServiceResult<Vec<AuditEvent>> {
        let me = authz::vendor(p, Need::Read)?;
        self.store.customer(me.org_id, id).await?;
        Ok(self.store.audit_events(me.org_id, id, limit).await?)
    }

    /// Creates a customer. Vendor admins and read_write users.
    pub async fn create_customer(&self, p: &Principal, name: &str) -> ServiceResult<Customer> {
        let me = authz::vendor(p, Need::Write)?;
        let name = DisplayName::parse(name).map_err(|e| ServiceError::field("name", e.0))?;
        Ok(self
            .store
            .create_customer(me.org_id, name, &me.actor())
            .await?)
    }

    /// Renames a customer. Vendor admins and read_write users.
    pub async fn rename_customer(
        &self,
        p: &Principal,
        id: CustomerId,
        name: &str,
    ) -> ServiceResult<Customer> {
        let me = authz::vendor(p, Need::Write)?;
        let name = DisplayName::parse(name).map_err(|e| ServiceError::field("name", e.0))?;
        Ok(self
            .store
            .rename_customer(me.org_id, id, name, &me.actor())
            .await?)
    }

    /// Deletes a customer with its users, their sessions and tokens (the
    /// change hub evicts them before this returns). Vendor admins and
    /// read_write users.
    pub async fn delete_customer(&self, p: &Principal, id: CustomerId) -> ServiceResult<()> {
        let me = authz::vendor(p, Need::Write)?;
        self.store
            .delete_customer(me.org_id, id, &me.actor())
            .await?;
        Ok(())
    }

    /// Adds a user to a customer: with a first `password`, or with a
    /// one-time set-password link (`invite`; not both). Vendor admins and
    /// read_write users.
    pub async fn add_customer_user(
        &self,
        p: &Principal,
        customer: CustomerId,
        new: NewCustomerUser<'_>,
    ) -> ServiceResult<AddedCustomerUser> {
        let me = authz::vendor(p, Need::Write)?;
        if new.invite && new.password.is_some() {
            return Err(ServiceError::field(
                "invite",
                "Send either a password or \"invite\": true, not both.",
            ));
        }
        let user = Invitee::parse(
            new.email,
            new.password.unwrap_or_default(),
            new.invite,
            new.role,
            CustomerRole::parse,
        )
        .map_err(ServiceError::Invalid)?;
        let (email, role) = (user.email.as_str().to_owned(), user.role);
        let AddedUser { user_id, link } =
            password_links::add_customer_user(&self.store, me.org_id, customer, user, &me.actor())
                .await?;
        Ok(AddedCustomerUser {
            id: user_id,
            email,
            role,
            set_password_url: link.as_ref().map(|l| self.set_password_url(&l.secret)),
            set_password_expires_at: link.map(|l| l.expires_at),
        })
    }

    /// Removes a customer's user; its sessions and tokens end at once.
    /// Vendor admins and read_write users.
    pub async fn remove_customer_user(
        &self,
        p: &Principal,
        customer: CustomerId,
        user: UserId,
    ) -> ServiceResult<()> {
        let me = authz::vendor(p, Need::Write)?;
        Ok(self
            .store
            .delete_customer_user(me.org_id, customer, user, &me.actor())
            .await?)
    }
}
