//! The words a person reads about what the store refused, written once: the
//! server functions, the JSON API and the CLI all say them from here
//! ([`store_error`], and the `Display` of [`StoreError`]).

use crate::store::{LastAdminChange, StoreError, UnknownGrant};
use std::collections::BTreeMap;
use std::fmt;

/// What to tell a person about a store error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Told {
    NotFound,
    /// Something is taken: the message, and the field it belongs to.
    Conflict {
        field: &'static str,
        message: String,
    },
    /// A change the rules refuse, and why.
    Rejected(String),
    /// Input that names what does not exist: messages by field.
    Invalid(BTreeMap<String, String>),
    /// No password-hashing turn was free: try again in a few seconds.
    Busy,
    /// Nothing a person can act on: the error is for the log.
    Internal,
}

/// What a person is told about `e`.
pub fn store_error(e: &StoreError) -> Told {
    let taken = |field, message: &str| Told::Conflict {
        field,
        message: message.to_owned(),
    };
    let rejected = |message: &str| Told::Rejected(message.to_owned());
    match e {
        StoreError::NotFound => Told::NotFound,
        StoreError::SlugTaken(slug) => taken("slug", &format!("The slug \"{slug}\" is taken.")),
        StoreError::EmailTaken => taken("email", "A user with this email already exists."),
        StoreError::CustomerNameTaken => taken("name", "A customer with this name already exists."),
        StoreError::EntitlementNameTaken => taken(
            "name",
            "This customer already has an entitlement with this name.",
        ),
        StoreError::AlreadySetUp => rejected("Portcullis is already set up; sign in instead."),
        StoreError::LastAdmin(LastAdminChange::Demoted) => {
            rejected("The organization needs at least one admin; make someone else admin first.")
        }
        StoreError::LastAdmin(LastAdminChange::Removed) => {
            rejected("The organization needs at least one admin; you cannot remove the last one.")
        }
        // Of two messages for one field, the last stands.
        StoreError::UnknownGrants(unknown) => {
            Told::Invalid(unknown.iter().map(unknown_grant).collect())
        }
        StoreError::Busy(_) => Told::Busy,
        StoreError::Internal(_) => Told::Internal,
    }
}

/// An entitlement's unknown artifact or tag: its form field and message.
fn unknown_grant(u: &UnknownGrant) -> (String, String) {
    match u {
        UnknownGrant::Artifact { index, artifact } => (
            format!("artifacts[{index}].artifact"),
            format!("There is no artifact named \"{artifact}\"."),
        ),
        UnknownGrant::Tag {
            index,
            artifact,
            tag,
        } => (
            format!("artifacts[{index}].tags"),
            format!("\"{artifact}\" has no tag \"{tag}\"."),
        ),
    }
}

/// What the CLI prints and the log shows.
impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Internal(e) => write!(f, "internal store error: {e}"),
            StoreError::Busy(busy) => busy.fmt(f),
            _ => match store_error(self) {
                Told::Conflict { message, .. } | Told::Rejected(message) => f.write_str(&message),
                Told::Invalid(_) => f.write_str("invalid input"),
                Told::NotFound | Told::Busy | Told::Internal => f.write_str("not found"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_grants_are_told_by_field() {
        let told = store_error(&StoreError::UnknownGrants(vec![
            UnknownGrant::Artifact {
                index: 0,
                artifact: "nope".into(),
            },
            UnknownGrant::Tag {
                index: 1,
                artifact: "web".into(),
                tag: "9".into(),
            },
        ]));
        assert_eq!(
            told,
            Told::Invalid(BTreeMap::from([
                (
                    "artifacts[0].artifact".into(),
                    "There is no artifact named \"nope\".".into()
                ),
                (
                    "artifacts[1].tags".into(),
                    "\"web\" has no tag \"9\".".into()
                ),
            ]))
        );
        assert_eq!(
            StoreError::EmailTaken.to_string(),
            "A user with this email already exists."
        );
        assert_eq!(StoreError::NotFound.to_string(), "not found");
    }
}
