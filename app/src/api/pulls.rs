//! The pull log (SPEC §6) for the console: the latest pulls of a customer
//! and of an artifact. The full log is `GET /api/v1/pulls` (JSON or CSV).

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::{self, respond};
use domain::pulls::Pull;
#[cfg(feature = "ssr")]
use domain::pulls::{PullQuery, PAGE_PULLS};
use domain::CustomerId;
use leptos::prelude::*;

/// The latest pulls by one of the caller's customers (another org's is not
/// found), newest first. Any vendor user.
#[server(endpoint = "customer_pulls")]
pub async fn customer_pulls(id: CustomerId) -> Result<Vec<Pull>, AppError> {
    respond(
        async move {
            let query = PullQuery {
                customer: Some(id),
                limit: PAGE_PULLS,
                ..Default::default()
            };
            Ok(ssr::services()?
                .pulls(&ssr::signed_in().await?, &query)
                .await?)
        }
        .await,
    )
}

/// The latest pulls of one of the caller's artifacts (another org's is not
/// found), newest first. Any vendor user.
#[server(endpoint = "artifact_pulls")]
pub async fn artifact_pulls(name: String) -> Result<Vec<Pull>, AppError> {
    respond(
        async move {
            let query = PullQuery {
                artifact: Some(name),
                limit: PAGE_PULLS,
                ..Default::default()
            };
            Ok(ssr::services()?
                .pulls(&ssr::signed_in().await?, &query)
                .await?)
        }
        .await,
    )
}
