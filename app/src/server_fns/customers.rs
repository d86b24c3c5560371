//! Customers of a vendor organization and their users (Licenses page).

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, Need};
use domain::{Customer, CustomerId, CustomerSummary, CustomerUser, UserId};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The Licenses list: a page of customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomersView {
    pub customers: Vec<CustomerSummary>,
    /// The cursor of the next page (`?after=`), if there is one.
    pub next: Option<String>,
    pub can_write: bool,
}

/// A page of the org's customers by name: those whose name contains `q`,
/// after the cursor `after`, at most `limit` (1–1000, default 50); with
/// `ending` (any value), only those with an entitlement ending within 30
/// days. Any vendor user.
#[server(endpoint = "list_customers")]
pub async fn list_customers(
    q: Option<String>,
    after: Option<String>,
    limit: Option<String>,
    ending: Option<String>,
) -> Result<CustomersView, AppError> {
    ssr::with_caller(async |services, me| {
        services::authz::vendor(me, Need::Read)?;
        let (limit, after) = super::page_params(limit, after)?;
        let query = domain::paging::CustomerQuery {
            search: q.unwrap_or_default(),
            after,
            limit,
            ending_within_days: ending
                .filter(|e| !e.is_empty())
                .map(|_| domain::paging::ENDING_SOON_DAYS),
        };
        let page = services.customers(me, &query).await?;
        Ok(CustomersView {
            customers: page.items,
            next: page.next,
            can_write: Need::Write.allows_principal(me),
        })
    })
    .await
}

/// Creates a customer and opens it. Vendor admins and read_write users.
#[server(endpoint = "create_customer")]
pub async fn create_customer(name: String) -> Result<CustomerId, AppError> {
    ssr::with_caller(async |services, me| {
        let customer = services.create_customer(me, &name).await?;
        leptos_axum::redirect(&format!("/licenses/{}", customer.id));
        Ok(customer.id)
    })
    .await
}

/// A customer's detail view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerView {
    pub customer: Customer,
    pub users: Vec<CustomerUser>,
    pub can_write: bool,
    /// The latest changes to the customer, its users and entitlements.
    pub history: Vec<domain::audit::AuditEvent>,
}

/// One customer of the caller's org (another org's is not found). Any vendor user.
#[server(endpoint = "get_customer")]
pub async fn get_customer(id: CustomerId) -> Result<CustomerView, AppError> {
    ssr::with_caller(async |services, me| {
        let (customer, users) = services.customer_with_users(me, id).await?;
        Ok(CustomerView {
            customer,
            users,
            can_write: Need::Write.allows_principal(me),
            history: services.customer_audit(me, id, 50).await?,
        })
    })
    .await
}

/// Renames a customer. Vendor admins and read_write users.
#[server(endpoint = "rename_customer")]
pub async fn rename_customer(id: CustomerId, name: String) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        services.rename_customer(me, id, &name).await?;
        Ok(())
    })
    .await
}

/// Deletes a customer, its users and their tokens. `confirm` must be the
/// customer's name. Vendor admins and read_write users.
#[server(endpoint = "delete_customer")]
pub async fn delete_customer(id: CustomerId, confirm: String) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        // Who may is checked first, then the typed name.
        services::authz::vendor(me, Need::Write)?;
        let customer = services.customer(me, id).await?;
        if confirm.trim() != customer.name {
            return Err(AppError::field(
                "confirm",
                "Type the customer's name exactly to confirm.",
            ));
        }
        services.delete_customer(me, id).await?;
        leptos_axum::redirect("/licenses");
        Ok(())
    })
    .await
}

/// A customer user just added. With a one-time link, `set_password_url`
/// is the link: shown once, never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddedUser {
    pub email: String,
    pub set_password_url: Option<String>,
}

/// Adds a user to a customer, with an initial password (`setup` absent or
/// `password`) or a one-time set-password link (`setup` = `link`; the
/// password is then ignored). Vendor admins and read_write users.
#[server(endpoint = "add_customer_user")]
pub async fn add_customer_user(
    customer_id: CustomerId,
    email: String,
    password: String,
    role: String,
    setup: Option<String>,
) -> Result<AddedUser, AppError> {
    ssr::with_caller(async |services, me| {
        let link = match setup.as_deref().unwrap_or("password") {
            "password" => false,
            "link" => true,
            _ => {
                return Err(AppError::field(
                    "setup",
                    "Choose how the user gets a password.",
                ))
            }
        };
        let added = services
            .add_customer_user(
                me,
                customer_id,
                services::customers::NewCustomerUser {
                    email: &email,
                    // With a link, what is in the password field is ignored.
                    password: (!link).then_some(password.as_str()),
                    invite: link,
                    role: &role,
                },
            )
            .await?;
        let added = AddedUser {
            email: added.email,
            set_password_url: added.set_password_url,
        };
        if added.set_password_url.is_some() && ssr::is_plain_form_post() {
            // Without JavaScript the answer is a redirect back to the
            // page: it finds the link by a one-time key in its URL.
            let bytes = serde_json::to_vec(&added).map_err(ssr::internal)?;
            let key = ssr::fresh_tokens()?.put(me.user_id(), bytes);
            leptos_axum::redirect(&format!("/licenses/{customer_id}?new_link={key}"));
        }
        Ok(added)
    })
    .await
}

/// A user just added with a one-time link by a plain form post (no
/// JavaScript), by the key in the page's URL; only for the vendor user who
/// added it, for a few minutes. Vendor admins and read_write users.
#[server(endpoint = "fresh_added_user")]
pub async fn fresh_added_user(key: String) -> Result<Option<AddedUser>, AppError> {
    ssr::with_caller(async |_, me| {
        let me = services::authz::vendor(me, Need::Write)?;
        Ok(ssr::fresh_tokens()?
            .take(me.user_id, &key)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    })
    .await
}

/// Removes a customer's user (and its tokens, at once). Vendor admins and
/// read_write users.
#[server(endpoint = "remove_customer_user")]
pub async fn remove_customer_user(
    customer_id: CustomerId,
    user_id: UserId,
) -> Result<(), AppError> {
    ssr::with_caller(async |services, me| {
        Ok(services
            .remove_customer_user(me, customer_id, user_id)
            .await?)
    })
    .await
}
