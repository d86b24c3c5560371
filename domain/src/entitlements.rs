//! Entitlements as the API and the forms send them, and their validation.
//! (What an entitlement allows is decided in [`crate::policy`].)

use crate::oci::Tag;
use crate::policy::{AfterExpiry, TagRule, TagScope};
use crate::{CustomerId, DisplayName, EntitlementId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `"all"`, a list of tag names, or a rule: `{"match": "GLOB"}` or
/// `{"semver": "RANGE"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum TagsInput {
    List(Vec<String>),
    Word(String),
    Rule(RuleInput),
}

/// A tag rule as written: every current and future tag it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuleInput {
    /// A glob (`*`, `?`), anchored, case-sensitive: `"*-stable"`.
    #[serde(rename = "match")]
    Match(String),
    /// A semver range in Cargo's syntax: `">=1.2, <2"`.
    Semver(String),
}

impl TagsInput {
    /// What these tags cover, checked and compiled; the message belongs
    /// under `artifacts[i].tags`.
    pub fn to_scope(&self) -> Result<TagScope, String> {
        match self {
            TagsInput::Word(w) if w == "all" => Ok(TagScope::All),
            TagsInput::Word(_) => {
                Err("Use \"all\", a list of tags, {\"match\": …} or {\"semver\": …}.".into())
            }
            TagsInput::List(list) if list.is_empty() => Err("Choose at least one tag.".into()),
            TagsInput::List(list) => {
                let mut set = BTreeSet::new();
                for t in list {
                    let tag =
                        Tag::parse(t.trim()).map_err(|_| format!("\"{t}\" is not a valid tag."))?;
                    set.insert(tag.as_str().to_owned());
                }
                Ok(TagScope::tags(set))
            }
            TagsInput::Rule(RuleInput::Match(p)) => TagRule::glob(p).map(TagScope::rule),
            TagsInput::Rule(RuleInput::Semver(r)) => TagRule::semver(r).map(TagScope::rule),
        }
    }

    /// One grant's scope as stored and shown (what [`TagsInput::to_scope`]
    /// made of it, trimmed and sorted).
    pub fn from_scope(scope: &TagScope) -> TagsInput {
        match scope {
            TagScope::All => TagsInput::Word("all".into()),
            TagScope::Only { tags, rules } => match rules.iter().next() {
                Some(TagRule::Match(p)) if tags.is_empty() => {
                    TagsInput::Rule(RuleInput::Match(p.clone()))
                }
                Some(TagRule::Semver(r, _)) if tags.is_empty() => {
                    TagsInput::Rule(RuleInput::Semver(r.clone()))
                }
                _ => TagsInput::List(tags.iter().cloned().collect()),
            },
        }
    }

    /// How the grant reads in a list: "all tags", "1.0, 1.1", "1.x stable:
    /// >=1.0, <2", "tags matching *-stable".
    pub fn describe(&self) -> String {
        match self {
            TagsInput::Word(w) if w == "all" => "all tags".into(),
            TagsInput::Word(w) => w.clone(),
            TagsInput::List(l) => l.join(", "),
            TagsInput::Rule(RuleInput::Match(p)) => TagRule::Match(p.clone()).describe(),
            TagsInput::Rule(RuleInput::Semver(r)) => {
                TagRule::semver(r).map_or_else(|_| r.clone(), |rule| rule.describe())
            }
        }
    }
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
    /// What happens at `expires_at`: `"revoke"` (the default) or
    /// `"keep_released"`.
    #[serde(default)]
    pub after_expiry: AfterExpiry,
}

/// A validated entitlement, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEntitlement {
    pub name: DisplayName,
    pub expires_at: Option<DateTime<Utc>>,
    pub after_expiry: AfterExpiry,
    pub grants: Vec<(String, TagScope)>,
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
            let tags = g
                .tags
                .to_scope()
                .map_err(|e| errors.insert(format!("artifacts[{i}].tags"), e))
                .ok();
            if let Some(tags) = tags {
                grants.push((artifact.to_owned(), tags));
            }
        }
        match name {
            Some(name) if errors.is_empty() => Ok(ValidEntitlement {
                name,
                expires_at: self.expires_at,
                after_expiry: self.after_expiry,
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
    pub after_expiry: AfterExpiry,
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
    /// `all` (the default), `specific`, `match` (a glob) or `semver` (a
    /// version range).
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The glob or the version range of a `match` or `semver` row.
    #[serde(default)]
    pub pattern: String,
}

impl RowDraft {
    pub fn all_tags(&self) -> bool {
        !matches!(self.mode.as_str(), "specific" | "match" | "semver")
    }

    /// Whether the row is a rule (`match` or `semver`).
    pub fn is_rule(&self) -> bool {
        matches!(self.mode.as_str(), "match" | "semver")
    }

    /// The row as the API's `tags`.
    pub fn tags_input(&self) -> TagsInput {
        match self.mode.as_str() {
            "specific" => TagsInput::List(self.tags.clone()),
            "match" => TagsInput::Rule(RuleInput::Match(self.pattern.clone())),
            "semver" => TagsInput::Rule(RuleInput::Semver(self.pattern.clone())),
            _ => TagsInput::Word("all".into()),
        }
    }

    /// A row showing a stored grant.
    pub fn from_grant(g: &GrantView) -> Self {
        let row = |mode: &str| RowDraft {
            artifact: g.artifact.clone(),
            mode: mode.into(),
            ..Default::default()
        };
        match &g.tags {
            TagsInput::List(tags) => RowDraft {
                tags: tags.clone(),
                ..row("specific")
            },
            TagsInput::Rule(RuleInput::Match(p)) => RowDraft {
                pattern: p.clone(),
                ..row("match")
            },
            TagsInput::Rule(RuleInput::Semver(r)) => RowDraft {
                pattern: r.clone(),
                ..row("semver")
            },
            TagsInput::Word(_) => row("all"),
        }
    }
}

/// What a rule row's pattern matches among an artifact's current tags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RulePreview {
    /// The matching tags, in the order given (at most [`RulePreview::SHOWN`]).
    pub matching: Vec<String>,
    /// How many match in all.
    pub matched: usize,
    /// How many do not.
    pub unmatched: usize,
    /// Why the pattern is not valid, if it is not.
    pub error: Option<String>,
}

impl RulePreview {
    /// How many matching tags a preview lists.
    pub const SHOWN: usize = 20;

    /// The preview of `row`'s rule over `tags` (the artifact's current tags).
    pub fn of(row: &RowDraft, tags: &[String]) -> RulePreview {
        let scope = match row.tags_input().to_scope() {
            Ok(s) => s,
            Err(e) => {
                return RulePreview {
                    error: Some(e),
                    unmatched: tags.len(),
                    ..Default::default()
                }
            }
        };
        let mut p = RulePreview::default();
        for t in tags {
            if scope.covers(t) {
                p.matched += 1;
                if p.matching.len() < Self::SHOWN {
                    p.matching.push(t.clone());
                }
            } else {
                p.unmatched += 1;
            }
        }
        p
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
    /// `revoke` (the default) or `keep_released`.
    #[serde(default)]
    pub after_expiry: String,
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
            after_expiry: e.after_expiry.as_str().into(),
            rows: e.artifacts.iter().map(RowDraft::from_grant).collect(),
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
                    tags: r.tags_input(),
                })
                .collect(),
            after_expiry: AfterExpiry::parse(self.after_expiry.trim()).unwrap_or_default(),
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

/// A customer's entitlements that end soon, as the portal's banner says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryNotice {
    pub ends_at: DateTime<Utc>,
    /// The artifacts whose access ends then, by name.
    pub artifacts: Vec<String>,
    /// The entitlement keeps what was released (only new releases stop).
    pub keep_released: bool,
}

impl ExpiryNotice {
    /// How many days ahead the portal warns.
    pub const PORTAL_DAYS: i64 = 14;

    /// The notices for entitlements ending after `now` and within `days`,
    /// soonest first, one per day and kind. An artifact that another
    /// entitlement keeps granting past that day (or forever) is not named.
    pub fn soon(entitlements: &[EntitlementView], now: DateTime<Utc>, days: i64) -> Vec<Self> {
        let horizon = now + chrono::Duration::days(days);
        let lasts_past = |artifact: &str, end: DateTime<Utc>, keep: bool| {
            entitlements.iter().any(|e| {
                e.expires_at.is_none_or(|x| x > end)
                    && (keep || e.after_expiry == AfterExpiry::Revoke)
                    && e.artifacts.iter().any(|g| g.artifact == artifact)
            })
        };
        let mut by_day: BTreeMap<(chrono::NaiveDate, bool), ExpiryNotice> = BTreeMap::new();
        for e in entitlements {
            let Some(end) = e.expires_at.filter(|t| *t > now && *t <= horizon) else {
                continue;
            };
            let keep = e.after_expiry == AfterExpiry::KeepReleased;
            let notice = by_day
                .entry((end.date_naive(), keep))
                .or_insert_with(|| ExpiryNotice {
                    ends_at: end,
                    artifacts: vec![],
                    keep_released: keep,
                });
            notice.ends_at = notice.ends_at.min(end);
            for g in &e.artifacts {
                if !lasts_past(&g.artifact, end, keep) && !notice.artifacts.contains(&g.artifact) {
                    notice.artifacts.push(g.artifact.clone());
                }
            }
        }
        by_day
            .into_values()
            .filter(|n| !n.artifacts.is_empty())
            .map(|mut n| {
                n.artifacts.sort();
                n
            })
            .collect()
    }

    /// "Your access to web and api ends on 5 December 2026; contact Acme Corp."
    pub fn sentence(&self, vendor: &str) -> String {
        let names = match self.artifacts.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        let date = self.ends_at.format("%-d %B %Y");
        if self.keep_released {
            format!(
                "New releases of {names} stop on {date}; what you can pull until then stays available. Contact {vendor} to renew."
            )
        } else {
            format!("Your access to {names} ends on {date}; contact {vendor}.")
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
        assert_eq!(v.grants[0], ("web".into(), TagScope::All));
        assert!(matches!(&v.grants[1].1, TagScope::Only { tags: t, .. } if t.len() == 2));
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
            after_expiry: AfterExpiry::KeepReleased,
            artifacts: vec![
                GrantView {
                    artifact: "web".into(),
                    tags: TagsInput::Word("all".into()),
                },
                GrantView {
                    artifact: "charts/web".into(),
                    tags: TagsInput::List(vec!["1.0.0".into()]),
                },
                GrantView {
                    artifact: "api".into(),
                    tags: TagsInput::Rule(RuleInput::Semver(">=1.0, <2".into())),
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
        assert_eq!(valid.grants[0], ("web".into(), TagScope::All));
        assert_eq!(valid.after_expiry, AfterExpiry::KeepReleased);
        assert_eq!(
            TagsInput::from_scope(&valid.grants[2].1),
            TagsInput::Rule(RuleInput::Semver(">=1.0, <2".into()))
        );
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
            after_expiry: String::new(),
            rows: vec![
                RowDraft {
                    artifact: "web".into(),
                    mode: "specific".into(),
                    ..Default::default()
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
            after_expiry: AfterExpiry::Revoke,
            artifacts: vec![GrantView {
                artifact: "charts/web".into(),
                tags: TagsInput::Word("all".into()),
            }],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert!(v.matches("gol") && v.matches("WEB") && v.matches("") && !v.matches("api"));
    }

    #[test]
    fn rules_are_accepted_and_bad_ones_reported_under_their_tags() {
        let v = input(
            r#"{"name": "Stable", "after_expiry": "keep_released", "artifacts": [
                {"artifact": "web", "tags": {"match": "*-stable"}},
                {"artifact": "api", "tags": {"semver": ">=1.2, <2"}}]}"#,
        )
        .validate()
        .unwrap();
        assert_eq!(v.after_expiry, AfterExpiry::KeepReleased);
        assert!(v.grants[0].1.covers("1.0-stable") && !v.grants[0].1.covers("1.0"));
        assert!(v.grants[1].1.covers("v1.4.0") && !v.grants[1].1.covers("2.0.0"));
        assert_eq!(
            input(r#"{"name": "x", "artifacts": [{"artifact": "web", "tags": "all"}]}"#)
                .validate()
                .unwrap()
                .after_expiry,
            AfterExpiry::Revoke,
            "revoke is the default"
        );
        let e = input(
            r#"{"name": "x", "artifacts": [
                {"artifact": "web", "tags": {"match": "a/b"}},
                {"artifact": "api", "tags": {"semver": ">=1.2.x.y"}},
                {"artifact": "db", "tags": {"match": " "}}]}"#,
        )
        .validate()
        .unwrap_err();
        assert!(e["artifacts[0].tags"].contains("\"/\""), "{e:?}");
        assert!(
            e["artifacts[1].tags"].contains("not a version range"),
            "{e:?}"
        );
        assert!(e["artifacts[2].tags"].contains("Enter a pattern"), "{e:?}");
        assert!(serde_json::from_str::<EntitlementInput>(
            r#"{"name": "x", "after_expiry": "forever", "artifacts": []}"#
        )
        .is_err());
    }

    #[test]
    fn a_rule_row_previews_what_it_matches() {
        let tags: Vec<String> = ["1.0.0", "1.2.0", "1.3.0-rc.1", "2.0.0", "latest"]
            .map(String::from)
            .into();
        let row = RowDraft {
            artifact: "web".into(),
            mode: "semver".into(),
            pattern: ">=1.0, <2".into(),
            ..Default::default()
        };
        let p = RulePreview::of(&row, &tags);
        assert_eq!(
            (p.matching.clone(), p.matched, p.unmatched),
            (vec!["1.0.0".into(), "1.2.0".into()], 2, 3)
        );
        assert_eq!(p.error, None);
        let bad = RulePreview::of(
            &RowDraft {
                pattern: "nope!".into(),
                ..row.clone()
            },
            &tags,
        );
        assert!(bad.error.is_some() && bad.matched == 0);
        let none = RulePreview::of(
            &RowDraft {
                mode: "match".into(),
                pattern: "*-lts".into(),
                ..row
            },
            &tags,
        );
        assert_eq!((none.matched, none.unmatched, none.error), (0, 5, None));
    }

    #[test]
    fn expiry_notices_name_what_ends_soon() {
        let now: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
        let ent = |name: &str, days: Option<i64>, keep: bool, artifacts: &[&str]| EntitlementView {
            id: EntitlementId::from(1),
            customer_id: CustomerId::from(1),
            name: name.into(),
            expires_at: days.map(|d| now + chrono::Duration::days(d)),
            after_expiry: if keep {
                AfterExpiry::KeepReleased
            } else {
                AfterExpiry::Revoke
            },
            artifacts: artifacts
                .iter()
                .map(|a| GrantView {
                    artifact: a.to_string(),
                    tags: TagsInput::Word("all".into()),
                })
                .collect(),
            created_at: now,
            updated_at: now,
        };
        let list = [
            ent("a", Some(5), false, &["web", "api"]),
            ent("b", Some(5), false, &["db"]),
            ent("c", None, false, &["db"]),
            ent("d", Some(20), false, &["cli"]),
            ent("e", Some(-1), false, &["old"]),
            ent("f", Some(9), true, &["sdk"]),
        ];
        let n = ExpiryNotice::soon(&list, now, ExpiryNotice::PORTAL_DAYS);
        assert_eq!(n.len(), 2, "{n:?}");
        assert_eq!(
            n[0].artifacts,
            ["api", "web"],
            "db lasts through c; cli is later"
        );
        assert_eq!(
            n[0].sentence("Acme Corp"),
            "Your access to api and web ends on 5 December 2026; contact Acme Corp."
        );
        assert!(n[1].keep_released);
        assert!(n[1]
            .sentence("Acme")
            .starts_with("New releases of sdk stop on 9 December 2026"));
        assert!(ExpiryNotice::soon(&list[2..5], now, 14).is_empty());
    }
}
