//! Entitlements as the API and the forms send them, and their validation.
//! (What an entitlement allows is decided in [`crate::policy`].)

use crate::oci::Tag;
use crate::policy::TagGrant;
use crate::{CustomerId, DisplayName, EntitlementId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `"all"` or a list of tag names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum TagsInput {
    List(Vec<String>),
    Word(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantInput {
    /// Artifact name without the org slug.
    pub artifact: String,
    pub tags: TagsInput,
}

/// The entitlement body of SPEC §8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntitlementInput {
    pub name: String,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub artifacts: Vec<GrantInput>,
}

/// A validated entitlement, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEntitlement {
    pub name: DisplayName,
    pub expires_at: Option<DateTime<Utc>>,
    pub grants: Vec<(String, TagGrant)>,
}

/// Field errors, keyed `name`, `artifacts`, `artifacts[i].artifact`, `artifacts[i].tags`.
pub type FieldErrors = BTreeMap<String, String>;

impl EntitlementInput {
    /// Checks everything that needs no database: all errors at once.
    pub fn validate(&self) -> Result<ValidEntitlement, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = DisplayName::parse(&self.name)
            .map_err(|e| errors.insert("name".into(), e.0))
            .ok();
        if self.artifacts.is_empty() {
            errors.insert("artifacts".into(), "Add at least one artifact.".into());
        }
        let mut seen = BTreeSet::new();
        let mut grants = Vec::new();
        for (i, g) in self.artifacts.iter().enumerate() {
            let artifact = g.artifact.trim();
            if artifact.is_empty() {
                errors.insert(
                    format!("artifacts[{i}].artifact"),
                    "Choose an artifact.".into(),
                );
            } else if !seen.insert(artifact.to_owned()) {
                errors.insert(
                    format!("artifacts[{i}].artifact"),
                    "This artifact is already in the entitlement.".into(),
                );
            }
            let tags = match &g.tags {
                TagsInput::Word(w) if w == "all" => Some(TagGrant::All),
                TagsInput::Word(_) => {
                    errors.insert(
                        format!("artifacts[{i}].tags"),
                        "Use \"all\" or a list of tags.".into(),
                    );
                    None
                }
                TagsInput::List(list) if list.is_empty() => {
                    errors.insert(
                        format!("artifacts[{i}].tags"),
                        "Choose at least one tag.".into(),
                    );
                    None
                }
                TagsInput::List(list) => {
                    let mut set = BTreeSet::new();
                    for t in list {
                        match Tag::parse(t.trim()) {
                            Ok(tag) => {
                                set.insert(tag.as_str().to_owned());
                            }
                            Err(_) => {
                                errors.insert(
                                    format!("artifacts[{i}].tags"),
                                    format!("\"{t}\" is not a valid tag."),
                                );
                            }
                        }
                    }
                    Some(TagGrant::Specific(set))
                }
            };
            if let Some(tags) = tags {
                grants.push((artifact.to_owned(), tags));
            }
        }
        match name {
            Some(name) if errors.is_empty() => Ok(ValidEntitlement {
                name,
                expires_at: self.expires_at,
                grants,
            }),
            _ => Err(errors),
        }
    }
}

/// One artifact of a stored entitlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantView {
    pub artifact: String,
    pub tags: TagsInput,
}

/// A stored entitlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntitlementView {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub id: EntitlementId,
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub customer_id: CustomerId,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expires_at: Option<DateTime<Utc>>,
    pub artifacts: Vec<GrantView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EntitlementView {
    /// Whether the search text matches the entitlement's name or one of its artifacts.
    pub fn matches(&self, q: &str) -> bool {
        let q = q.trim().to_lowercase();
        q.is_empty()
            || self.name.to_lowercase().contains(&q)
            || self
                .artifacts
                .iter()
                .any(|a| a.artifact.to_lowercase().contains(&q))
    }
}

/// One artifact row of the entitlement form.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RowDraft {
    #[serde(default)]
    pub artifact: String,
    /// `all` (the default) or `specific`.
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl RowDraft {
    pub fn all_tags(&self) -> bool {
        self.mode != "specific"
    }
}

/// The entitlement form as the browser sends it: what was typed, valid or
/// not, so the form can be shown again as it was.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EntitlementDraft {
    #[serde(default)]
    pub name: String,
    /// `YYYY-MM-DD` or empty for no expiration.
    #[serde(default)]
    pub expires: String,
    #[serde(default)]
    pub rows: Vec<RowDraft>,
}

impl EntitlementDraft {
    /// A new entitlement: no name, one empty row.
    pub fn blank() -> Self {
        EntitlementDraft {
            rows: vec![RowDraft::default()],
            ..Default::default()
        }
    }

    /// The form filled with a stored entitlement.
    pub fn from_view(e: &EntitlementView) -> Self {
        EntitlementDraft {
            name: e.name.clone(),
            expires: e
                .expires_at
                .map(|t| t.date_naive().to_string())
                .unwrap_or_default(),
            rows: e
                .artifacts
                .iter()
                .map(|g| match &g.tags {
                    TagsInput::List(tags) => RowDraft {
                        artifact: g.artifact.clone(),
                        mode: "specific".into(),
                        tags: tags.clone(),
                    },
                    TagsInput::Word(_) => RowDraft {
                        artifact: g.artifact.clone(),
                        mode: "all".into(),
                        tags: Vec::new(),
                    },
                })
                .collect(),
        }
    }

    /// The API body for this draft, validated as the API validates it, plus
    /// the expiration date. Access ends at 00:00 UTC of the chosen date;
    /// `current` (the stored expiry) is kept when its date was not changed,
    /// so saving the form never moves an expiry set to the second by the API.
    pub fn validate(
        &self,
        current: Option<DateTime<Utc>>,
    ) -> Result<ValidEntitlement, FieldErrors> {
        let expires = self.expires.trim();
        let mut date_error = None;
        let expires_at = if expires.is_empty() {
            None
        } else {
            match chrono::NaiveDate::parse_from_str(expires, "%Y-%m-%d") {
                Ok(date) if current.is_some_and(|c| c.date_naive() == date) => current,
                Ok(date) => date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
                Err(_) => {
                    date_error = Some("Enter a date as YYYY-MM-DD, or leave it empty.");
                    None
                }
            }
        };
        let input = EntitlementInput {
            name: self.name.clone(),
            expires_at,
            artifacts: self
                .rows
                .iter()
                .map(|r| GrantInput {
                    artifact: r.artifact.clone(),
                    tags: if r.all_tags() {
                        TagsInput::Word("all".into())
                    } else {
                        TagsInput::List(r.tags.clone())
                    },
                })
                .collect(),
        };
        match (input.validate(), date_error) {
            (Ok(valid), None) => Ok(valid),
            (result, date_error) => {
                let mut errors = result.err().unwrap_or_default();
                if let Some(e) = date_error {
                    errors.insert("expires_at".into(), e.into());
                }
                Err(errors)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> EntitlementInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn accepts_the_spec_body() {
        let v = input(r#"{"name": "Gold", "expires_at": "2027-01-31T00:00:00Z",
            "artifacts": [{"artifact": "web", "tags": "all"}, {"artifact": "charts/web", "tags": ["1.0.0", "1.1.0"]}]}"#)
        .validate()
        .unwrap();
        assert_eq!(v.name.as_str(), "Gold");
        assert_eq!(v.grants[0], ("web".into(), TagGrant::All));
        assert!(matches!(&v.grants[1].1, TagGrant::Specific(t) if t.len() == 2));
    }

    #[test]
    fn reports_every_invalid_field() {
        let e = input(r#"{"name": " ", "artifacts": [{"artifact": "web", "tags": []}, {"artifact": "web", "tags": "some"}, {"artifact": "", "tags": ["-bad"]}]}"#)
            .validate()
            .unwrap_err();
        for k in [
            "name",
            "artifacts[0].tags",
            "artifacts[1].artifact",
            "artifacts[1].tags",
            "artifacts[2].artifact",
            "artifacts[2].tags",
        ] {
            assert!(e.contains_key(k), "{k}: {e:?}");
        }
        let e = input(r#"{"name": "x"}"#).validate().unwrap_err();
        assert!(e.contains_key("artifacts"));
    }

    #[test]
    fn a_draft_round_trips_and_validates_like_the_api() {
        let stored = EntitlementView {
            id: EntitlementId::from(1),
            customer_id: CustomerId::from(1),
            name: "Gold".into(),
            expires_at: Some("2027-01-31T12:30:00Z".parse().unwrap()),
            artifacts: vec![
                GrantView {
                    artifact: "web".into(),
                    tags: TagsInput::Word("all".into()),
                },
                GrantView {
                    artifact: "charts/web".into(),
                    tags: TagsInput::List(vec!["1.0.0".into()]),
                },
            ],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let draft = EntitlementDraft::from_view(&stored);
        assert_eq!(draft.expires, "2027-01-31");
        let valid = draft.validate(stored.expires_at).unwrap();
        // Unchanged date: the stored instant is kept.
        assert_eq!(valid.expires_at, stored.expires_at);
        assert_eq!(valid.grants[0], ("web".into(), TagGrant::All));
        // A new date: access ends at midnight UTC of that day.
        let moved = EntitlementDraft {
            expires: "2027-03-01".into(),
            ..draft.clone()
        };
        assert_eq!(
            moved.validate(stored.expires_at).unwrap().expires_at,
            Some("2027-03-01T00:00:00Z".parse().unwrap())
        );
        let none = EntitlementDraft {
            expires: " ".into(),
            ..draft
        };
        assert_eq!(none.validate(None).unwrap().expires_at, None);
    }

    #[test]
    fn a_bad_draft_reports_the_date_with_the_other_fields() {
        let draft = EntitlementDraft {
            name: "".into(),
            expires: "31/01/2027".into(),
            rows: vec![
                RowDraft {
                    artifact: "web".into(),
                    mode: "specific".into(),
                    tags: vec![],
                },
                RowDraft {
                    artifact: "web".into(),
                    ..Default::default()
                },
            ],
        };
        let e = draft.validate(None).unwrap_err();
        for k in [
            "name",
            "expires_at",
            "artifacts[0].tags",
            "artifacts[1].artifact",
        ] {
            assert!(e.contains_key(k), "{k}: {e:?}");
        }
        let e = EntitlementDraft {
            name: "x".into(),
            ..Default::default()
        }
        .validate(None)
        .unwrap_err();
        assert!(e.contains_key("artifacts"));
        assert_eq!(EntitlementDraft::blank().rows.len(), 1);
    }

    #[test]
    fn search_matches_name_or_artifact() {
        let v = EntitlementView {
            id: EntitlementId::from(1),
            customer_id: CustomerId::from(1),
            name: "Gold".into(),
            expires_at: None,
            artifacts: vec![GrantView {
                artifact: "charts/web".into(),
                tags: TagsInput::Word("all".into()),
            }],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert!(v.matches("gol") && v.matches("WEB") && v.matches("") && !v.matches("api"));
    }
}
