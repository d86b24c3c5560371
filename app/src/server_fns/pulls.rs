//! The pull log (SPEC §6) for the console: the latest pulls of a customer
//! and of an artifact. The full log is `GET /api/v1/pulls` (JSON or CSV).

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr;
use domain::pulls::Pull;
#[cfg(feature = "ssr")]
use domain::pulls::{PullQuery, PAGE_PULLS};
use domain::CustomerId;
use leptos::prelude::*;

/// The latest pulls (a page) of one customer or one artifact. Any vendor
/// user; another org's customer or artifact is not found.
#[cfg(feature = "ssr")]
async fn latest(
    customer: Option<CustomerId>,
    artifact: Option<String>,
) -> Result<Vec<Pull>, AppError> {
    let query = PullQuery {
        customer,
        artifact,
        limit: PAGE_PULLS,
        ..Default::default()
    };
    ssr::with_caller(async |services, me| Ok(services.pulls(me, &query).await?)).await
}

/// The latest pulls by one of the caller's customers, newest first.
#[server(endpoint = "customer_pulls")]
pub async fn customer_pulls(id: CustomerId) -> Result<Vec<Pull>, AppError> {
    latest(Some(id), None).await
}

/// The latest pulls of one of the caller's artifacts, newest first.
#[server(endpoint = "artifact_pulls")]
pub async fn artifact_pulls(name: String) -> Result<Vec<Pull>, AppError> {
    latest(None, Some(name)).await
}
