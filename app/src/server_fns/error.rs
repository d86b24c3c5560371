use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The one error type of the UI's server functions. Messages are written for
/// the person using the page; internal detail never gets here (it is logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("You do not have permission to do that.")]
    Forbidden,
    #[error("That was not found.")]
    NotFound,
    /// Bad input; `fields` maps a form field's name to its message.
    #[error("{message}")]
    Invalid {
        message: String,
        fields: BTreeMap<String, String>,
    },
    /// Something is taken; `field` names the form field it belongs to.
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<String>,
    },
    #[error("Incorrect email or password.")]
    BadCredentials,
    #[error("{0}")]
    TooManyAttempts(String),
    /// The org's plan does not include the feature (SPEC §4 plan gating).
    #[error("{}", domain::Plan::ENTITLEMENTS_REQUIRED)]
    PlanRequired,
    /// Password checks are all busy (a burst of sign-ins): 503 with
    /// `Retry-After`.
    #[error("The server is busy. Please try again in a few seconds.")]
    Busy,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// Refused before it reached the function: a cross-site request (the
    /// message says where it came from and where to go instead).
    #[error("{0}")]
    Refused(String),
    /// The request body is over the server functions' limit (2 MiB).
    #[error("The request is too large (the limit is 2 MiB).")]
    TooLarge,
    /// The request did not reach the function (network, bad arguments).
    #[error("The request could not be completed ({0}).")]
    Transport(String),
}

impl AppError {
    /// A single invalid field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::Invalid {
            fields: BTreeMap::from([(name.to_owned(), message.clone())]),
            message,
        }
    }

    /// Several invalid fields; `Ok` when there are none.
    pub fn check_fields(fields: BTreeMap<String, String>) -> Result<(), Self> {
        if fields.is_empty() {
            Ok(())
        } else {
            Err(Self::fields(fields))
        }
    }

    /// Several invalid fields.
    pub fn fields(fields: BTreeMap<String, String>) -> Self {
        AppError::Invalid {
            message: "Please correct the highlighted fields.".into(),
            fields,
        }
    }

    /// The message for form field `name`, if this error is about it.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid { fields, .. } => fields.get(name).cloned(),
            AppError::Conflict {
                message,
                field: Some(field),
            } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    /// The message for the form as a whole: everything that is not about
    /// one field.
    pub fn form_message(&self) -> Option<String> {
        match self {
            AppError::Invalid { fields, .. } if !fields.is_empty() => None,
            AppError::Conflict { field: Some(_), .. } => None,
            other => Some(other.to_string()),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden | AppError::PlanRequired | AppError::Refused(_) => 403,
            AppError::NotFound => 404,
            AppError::Invalid { .. } | AppError::Transport(_) => 400,
            AppError::Conflict { .. } => 409,
            AppError::TooManyAttempts(_) => 429,
            AppError::TooLarge => 413,
            AppError::Internal => 500,
            AppError::Busy => 503,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors() {
        let e = AppError::field("email", "Enter an email address.");
        assert_eq!(
            e.field_message("email").as_deref(),
            Some("Enter an email address.")
        );
        assert_eq!(e.field_message("password"), None);
        assert_eq!(e.form_message(), None);
        assert_eq!(e.status(), 400);
        assert!(AppError::check_fields(BTreeMap::new()).is_ok());
        assert_eq!(
            AppError::Conflict {
                message: "taken".into(),
                field: None
            }
            .form_message()
            .as_deref(),
            Some("taken")
        );
    }
}
