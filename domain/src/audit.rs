//! The audit trail of customer and entitlement changes: who changed what,
//! when, and the state before and after.

use crate::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who makes a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `None` for the operator's command line.
    pub user_id: Option<UserId>,
    pub email: String,
}

impl Actor {
    pub fn user(user_id: UserId, email: impl Into<String>) -> Self {
        Actor {
            user_id: Some(user_id),
            email: email.into(),
        }
    }

    /// The operator, through `portcullis admin`.
    pub fn operator() -> Self {
        Actor {
            user_id: None,
            email: "portcullis admin".into(),
        }
    }
}

/// What was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    CustomerCreated,
    CustomerRenamed,
    CustomerDeleted,
    UserAdded,
    UserRemoved,
    EntitlementCreated,
    EntitlementUpdated,
    EntitlementDeleted,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::CustomerCreated => "customer_created",
            AuditAction::CustomerRenamed => "customer_renamed",
            AuditAction::CustomerDeleted => "customer_deleted",
            AuditAction::UserAdded => "user_added",
            AuditAction::UserRemoved => "user_removed",
            AuditAction::EntitlementCreated => "entitlement_created",
            AuditAction::EntitlementUpdated => "entitlement_updated",
            AuditAction::EntitlementDeleted => "entitlement_deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }

    /// "Created entitlement", "Removed user", …
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::CustomerCreated => "Created customer",
            AuditAction::CustomerRenamed => "Renamed customer",
            AuditAction::CustomerDeleted => "Deleted customer",
            AuditAction::UserAdded => "Added user",
            AuditAction::UserRemoved => "Removed user",
            AuditAction::EntitlementCreated => "Created entitlement",
            AuditAction::EntitlementUpdated => "Changed entitlement",
            AuditAction::EntitlementDeleted => "Deleted entitlement",
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The email of who made it (at the time), or `portcullis admin`.
    pub actor: String,
    pub action: AuditAction,
    /// The name of what was changed: customer, user email or entitlement.
    pub subject: String,
    /// The state before the change (none for a creation).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<Value>,
    /// The state after the change (none for a deletion).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<Value>,
}

/// A one-line description of a recorded state: an entitlement as
/// "expires … · artifact (tags), …", a user as "email (role)", a customer by name.
pub fn describe(state: &Value) -> String {
    let text = |k: &str| state.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(artifacts) = state.get("artifacts").and_then(Value::as_array) {
        let grants: Vec<String> = artifacts
            .iter()
            .map(|g| {
                let name = g.get("artifact").and_then(Value::as_str).unwrap_or("?");
                let tags = g
                    .get("tags")
                    .cloned()
                    .and_then(|t| serde_json::from_value::<crate::entitlements::TagsInput>(t).ok())
                    .map_or_else(|| "all tags".to_owned(), |t| t.describe());
                format!("{name} ({tags})")
            })
            .collect();
        let expiry = match text("expires_at") {
            Some(t) if text("after_expiry").as_deref() == Some("keep_released") => {
                format!(
                    "expires {} (keeps what was released)",
                    t.get(..10).unwrap_or(&t)
                )
            }
            Some(t) => format!("expires {}", t.get(..10).unwrap_or(&t)),
            None => "no expiration".into(),
        };
        return format!(
            "{} · {expiry} · {}",
            text("name").unwrap_or_default(),
            grants.join(", ")
        );
    }
    if let Some(email) = text("email") {
        return match text("role") {
            Some(role) => format!("{email} ({role})"),
            None => email,
        };
    }
    text("name").unwrap_or_else(|| state.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_round_trip() {
        for a in [
            AuditAction::CustomerCreated,
            AuditAction::UserRemoved,
            AuditAction::EntitlementUpdated,
        ] {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(AuditAction::parse("nope"), None);
    }

    #[test]
    fn describes_states() {
        let e = json!({"name": "Gold", "expires_at": "2027-01-31T00:00:00Z",
            "artifacts": [{"artifact": "web", "tags": "all"}, {"artifact": "api", "tags": ["1.0", "1.1"]}]});
        assert_eq!(
            describe(&e),
            "Gold · expires 2027-01-31 · web (all tags), api (1.0, 1.1)"
        );
        let e = json!({"name": "Stable", "expires_at": "2027-01-31T00:00:00Z", "after_expiry": "keep_released",
            "artifacts": [{"artifact": "web", "tags": {"semver": ">=1.0, <2"}}, {"artifact": "api", "tags": {"match": "*-lts"}}]});
        assert_eq!(
            describe(&e),
            "Stable · expires 2027-01-31 (keeps what was released) · web (1.x stable: >=1.0, <2), api (tags matching *-lts)"
        );
        let e = json!({"name": "Gold", "expires_at": null, "artifacts": []});
        assert_eq!(describe(&e), "Gold · no expiration · ");
        assert_eq!(
            describe(&json!({"email": "a@b.test", "role": "member"})),
            "a@b.test (member)"
        );
        assert_eq!(describe(&json!({"name": "Globex"})), "Globex");
    }
}
