//! Entitlements as the API and the forms send them, and their validation.
//! (What an entitlement allows is decided in [`crate::policy`].)

use crate::oci::Tag;
use crate::policy::TagGrant;
use crate::DisplayName;
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
    pub id: i64,
    pub customer_id: i64,
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
    fn search_matches_name_or_artifact() {
        let v = EntitlementView {
            id: 1,
            customer_id: 1,
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
