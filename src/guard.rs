//! Page access, decided before a page renders: the console is for vendor
//! users, the portal for customer users, `/` is the first-run page only while
//! no organization exists. (Server functions check again for themselves.)

use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::Principal;
use services::session::CallerSlot;
use tower_sessions::Session;

#[derive(Debug, PartialEq, Eq)]
enum Area {
    Root,
    SignIn,
    Console,
    Portal,
    Other,
}

fn area(path: &str) -> Area {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    match path {
        "/" => Area::Root,
        "/signin" => Area::SignIn,
        _ if under("/artifacts") || under("/licenses") || under("/settings") => Area::Console,
        _ if under("/portal") => Area::Portal,
        _ => Area::Other,
    }
}

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

pub async fn pages(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return next.run(req).await;
    }
    let area = area(req.uri().path());
    if area == Area::Other {
        return next.run(req).await;
    }
    let slot = req.extensions().get::<CallerSlot>().cloned();
    let principal = match session_principal(&state, slot.as_ref(), &session).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    match (area, principal) {
        (Area::Console, Some(Principal::Vendor { .. }))
        | (Area::Portal, Some(Principal::Customer { .. })) => next.run(req).await,
        (Area::Console | Area::Portal, None) => {
            let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
            see_other(&format!("/signin?next={}", percent_encode(target)))
        }
        (Area::Console | Area::Portal | Area::SignIn, Some(p)) => see_other(p.home_path()),
        (Area::Root, principal) => match state.ctx.store.has_orgs().await {
            Ok(false) => next.run(req).await,
            Ok(true) => see_other(principal.as_ref().map_or("/signin", Principal::home_path)),
            Err(e) => {
                tracing::error!(error = %e, "first-run check failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        (Area::SignIn, None) | (Area::Other, _) => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas() {
        assert_eq!(area("/"), Area::Root);
        assert_eq!(area("/signin"), Area::SignIn);
        assert_eq!(area("/settings"), Area::Console);
        assert_eq!(area("/licenses/3"), Area::Console);
        assert_eq!(area("/artifacts"), Area::Console);
        assert_eq!(area("/settingsx"), Area::Other);
        assert_eq!(area("/portal"), Area::Portal);
        assert_eq!(area("/pkg/portcullis.js"), Area::Other);
        // Public: the one-time link is the key.
        assert_eq!(area("/set-password/abc"), Area::Other);
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(percent_encode("/settings?a=b&c"), "/settings%3Fa%3Db%26c");
    }
}
