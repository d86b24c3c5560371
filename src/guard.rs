//! Page access, decided before a page renders: the console is for vendor
//! users, the portal for customer users, `/` is the first-run page only while
//! no organization exists. Which page is which comes from the UI's route
//! tree ([`PageAreas`]); an address it does not know fails closed (signed-out
//! users are sent to sign in). (Server functions check again for
//! themselves.)

use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::pages::Area;
use domain::Principal;
use services::session::CallerSlot;
use tower_sessions::Session;

/// Whom the page at a request target (path and query) is for, `None` when
/// no page is there. It is the UI's route tree (`app::routes::area`), handed
/// over by the server (`AppState::pages`): the guard knows a page as soon as
/// the UI routes it.
pub type PageAreas = fn(&str) -> Option<Area>;

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The signed-in user of a session: `None` when signed out, the session is
/// unreadable, the user is gone or its session epoch moved on (see
/// [`services::Services::session_principal`]); a 500 response when the store fails.
pub async fn session_principal(
    state: &AppState,
    slot: Option<&CallerSlot>,
    session: &Session,
) -> Result<Option<Principal>, Response> {
    state.ctx.caller(slot, session).await.map_err(|e| {
        tracing::error!(error = %e, "loading the session's user failed");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

/// The page guard, in front of whatever renders the app: the page routes
/// (and the server functions registered with them, which are not GET) and
/// the not-found page (static files, `/api/v1`, `/events` are not behind it).
pub async fn pages(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return next.run(req).await;
    }
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let area = (state.pages)(target);
    if area == Some(Area::Public) {
        return next.run(req).await;
    }
    let slot = req.extensions().get::<CallerSlot>().cloned();
    let principal = match session_principal(&state, slot.as_ref(), &session).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    match (area, principal) {
        (Some(Area::Console), Some(Principal::Vendor { .. }))
        | (Some(Area::Portal), Some(Principal::Customer { .. })) => next.run(req).await,
        // Fails closed: an address no route claims needs a signed-in user
        // (who then sees the not-found page).
        (Some(Area::Console | Area::Portal) | None, None) => {
            see_other(&format!("/signin?next={}", percent_encode(target)))
        }
        (None, Some(_)) => next.run(req).await,
        (Some(Area::Console | Area::Portal | Area::SignIn), Some(p)) => see_other(p.home_path()),
        (Some(Area::FirstRun), principal) => match state.ctx.needs_setup().await {
            Ok(true) => next.run(req).await,
            Ok(false) => see_other(principal.as_ref().map_or("/signin", Principal::home_path)),
            Err(e) => {
                tracing::error!(error = %e, "first-run check failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        (Some(Area::SignIn), None) | (Some(Area::Public), _) => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_encoded() {
        assert_eq!(percent_encode("/settings?a=b&c"), "/settings%3Fa%3Db%26c");
    }
}
