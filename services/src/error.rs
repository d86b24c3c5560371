//! What a use case answers when it does not do what was asked. Typed: the
//! words a person reads are written by each front door, once, from these
//! (`app`'s `AppError`, the JSON API's `ApiError`, the CLI's messages).

use domain::store::StoreError;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Nobody is signed in (or the credentials are no longer valid).
    #[error("not signed in")]
    Unauthenticated,
    /// The caller may not do this ([`crate::authz`]).
    #[error("not allowed")]
    Forbidden,
    /// It does not exist, or the caller may not see it (the same answer).
    #[error("not found")]
    NotFound,
    /// Bad input: a message per field.
    #[error("invalid input")]
    Invalid(BTreeMap<String, String>),
    /// The organization's plan does not include Artifact Entitlements now.
    #[error("the plan does not include entitlements")]
    PlanRequired,
    /// Wrong email or password (one answer for both).
    #[error("incorrect email or password")]
    BadCredentials,
    /// Too many failed sign-ins: try again after `wait`.
    #[error("too many failed sign-ins")]
    TooManyAttempts { wait: Duration },
    /// A one-time set-password link that is unknown, used or expired (one
    /// answer for all three).
    #[error("the link is not valid")]
    LinkInvalid,
    /// An admin tried to remove itself.
    #[error("cannot remove yourself")]
    RemoveSelf,
    /// The store refused or failed (its own typed error).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<domain::password::Busy> for ServiceError {
    fn from(busy: domain::password::Busy) -> Self {
        ServiceError::Store(StoreError::Busy(busy))
    }
}

impl From<domain::paging::PagingError> for ServiceError {
    fn from(e: domain::paging::PagingError) -> Self {
        ServiceError::field(e.field, e.message)
    }
}

impl ServiceError {
    /// One invalid field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(BTreeMap::from([(name.to_owned(), message.into())]))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Collects per-field parse errors so a form or a request body reports all
/// of them at once.
#[derive(Debug, Default)]
pub struct FieldCheck {
    errors: BTreeMap<String, String>,
}

impl FieldCheck {
    /// Keeps the value, or the field's first error.
    pub fn field<T>(&mut self, name: &str, parsed: Result<T, domain::ParseError>) -> Option<T> {
        parsed
            .map_err(|e| {
                self.errors.entry(name.to_owned()).or_insert(e.0);
            })
            .ok()
    }

    /// Adds an error for `name` unless it has one.
    pub fn fail(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .entry(name.to_owned())
            .or_insert_with(|| message.into());
    }

    /// `value` when no field failed; otherwise `Invalid` with every
    /// field's error.
    pub fn ok<T>(self, value: Option<T>) -> ServiceResult<T> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(ServiceError::Invalid(self.errors)),
        }
    }

    /// `Invalid` with every field's error, if any.
    pub fn finish(self) -> ServiceResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(self.errors))
        }
    }
}
