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

/// The latest pulls (a page) matching `query`. Any vendor user; another
/// org's customer or artifact is not found.
#[cfg(feature = "ssr")]
async fn latest(query: PullQuery) -> Result<Vec<Pull>, AppError> {
    let query = PullQuery {
        limit: PAGE_PULLS,
        ..query
    };
    respond(
        async {
            Ok(ssr::services()?
                .pulls(&ssr::signed_in().await?, &query)
                .await?)
        }
        .await,
    )
}

/// The latest pulls by one of the caller's customers, newest first.
#[server(endpoint = "customer_pulls")]
pub async fn customer_pulls(id: CustomerId) -> Result<Vec<Pull>, AppError> {
    latest(PullQuery {
        customer: Some(id),
        ..Default::default()
    })
    .await
}

/// The latest pulls of one of the caller's artifacts, newest first.
#[server(endpoint = "artifact_pulls")]
pub async fn artifact_pulls(name: String) -> Result<Vec<Pull>, AppError> {
    latest(PullQuery {
        artifact: Some(name),
        ..Default::default()
    })
    .await
}
