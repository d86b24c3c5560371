//! The entitlement rules of SPEC §3 as pure functions over plain data. The
//! registry, the portal and the API all ask these functions; nothing else
//! decides what a customer may see.

use crate::Plan;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Which tags of one artifact a grant covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TagGrant {
    /// Every tag the artifact has now or will have.
    All,
    /// Exactly these tag names (non-empty, but in [`NOTHING`]); the grant
    /// follows the tag.
    Specific(BTreeSet<String>),
}

/// The grant of an artifact that is not granted: no tag, so no manifest and
/// no blob. What a check falls back to, so that it fails closed.
pub static NOTHING: TagGrant = TagGrant::Specific(BTreeSet::new());

impl TagGrant {
    /// Whether the grant covers `tag`.
    pub fn covers(&self, tag: &str) -> bool {
        match self {
            TagGrant::All => true,
            TagGrant::Specific(tags) => tags.contains(tag),
        }
    }
}

/// One artifact in an entitlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Artifact name without the org slug.
    pub artifact: String,
    pub tags: TagGrant,
}

/// An entitlement as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub expires_at: Option<DateTime<Utc>>,
    pub grants: Vec<Grant>,
}

impl Entitlement {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }
}

/// The facts about the vendor org that rule 1 depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgFacts {
    pub plan: Plan,
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// Whether the org has at least one entitlement (for any customer,
    /// expired or not).
    pub has_entitlements: bool,
}

/// What one customer may see and pull, at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Rule 1: the plan has no entitlements, or the org defined none.
    Everything,
    /// Rule 2: the union of the customer's unexpired grants, by artifact.
    Granted(HashMap<String, TagGrant>),
}

/// SPEC §3: what a customer of the org may see, given its entitlements.
pub fn visibility(
    org: OrgFacts,
    customer_entitlements: &[Entitlement],
    now: DateTime<Utc>,
) -> Visibility {
    if !org.plan.includes_entitlements(org.trial_ends_at, now) || !org.has_entitlements {
        return Visibility::Everything;
    }
    let mut granted: HashMap<String, TagGrant> = HashMap::new();
    for grant in customer_entitlements
        .iter()
        .filter(|e| e.is_active(now))
        .flat_map(|e| &e.grants)
    {
        let merged = match (granted.remove(&grant.artifact), &grant.tags) {
            (Some(TagGrant::All), _) | (_, TagGrant::All) => TagGrant::All,
            (Some(TagGrant::Specific(mut a)), TagGrant::Specific(b)) => {
                a.extend(b.iter().cloned());
                TagGrant::Specific(a)
            }
            (None, specific) => specific.clone(),
        };
        granted.insert(grant.artifact.clone(), merged);
    }
    Visibility::Granted(granted)
}

impl Visibility {
    /// Whether the artifact (repository) is visible at all.
    pub fn artifact_visible(&self, artifact: &str) -> bool {
        match self {
            Visibility::Everything => true,
            Visibility::Granted(g) => g.contains_key(artifact),
        }
    }

    /// Whether a manifest may be pulled by this tag.
    pub fn tag_allowed(&self, artifact: &str, tag: &str) -> bool {
        match self {
            Visibility::Everything => true,
            Visibility::Granted(g) => match g.get(artifact) {
                Some(TagGrant::All) => true,
                Some(TagGrant::Specific(tags)) => tags.contains(tag),
                None => false,
            },
        }
    }
}

/// What one repository holds, as the digest and blob rules need it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RepoGraph {
    /// Current tags and their digests.
    pub tags: BTreeMap<String, String>,
    /// Every (tag, digest) assignment the repository ever had, current ones
    /// included (tag history).
    pub tag_history: Vec<(String, String)>,
    /// Image index digest -> its child manifests.
    pub children: HashMap<String, Vec<String>>,
    /// Subject digest -> the manifests that refer to it (signatures, SBOMs).
    pub referrers: HashMap<String, Vec<String>>,
    /// Manifest digest -> its config and layer blobs.
    pub blobs: HashMap<String, Vec<String>>,
}

/// The manifests and blobs a grant allows in one repository.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub manifests: HashSet<String>,
    pub blobs: HashSet<String>,
}

impl RepoGraph {
    /// SPEC §3, "what a grant allows to be pulled": manifests that are or
    /// were the target of a granted tag, the children of allowed indexes and
    /// the referrers of allowed manifests (transitively), and the config and
    /// layers of every allowed manifest in this repository.
    pub fn allowed(&self, grant: &TagGrant) -> Allowed {
        let mut queue: Vec<&str> = self
            .tag_history
            .iter()
            .filter(|(tag, _)| grant.covers(tag))
            .map(|(_, digest)| digest.as_str())
            .collect();
        let mut allowed = Allowed::default();
        while let Some(digest) = queue.pop() {
            if !allowed.manifests.insert(digest.to_owned()) {
                continue;
            }
            let next = [&self.children, &self.referrers];
            queue.extend(
                next.iter()
                    .filter_map(|m| m.get(digest))
                    .flatten()
                    .map(String::as_str),
            );
            if let Some(blobs) = self.blobs.get(digest) {
                allowed.blobs.extend(blobs.iter().cloned());
            }
        }
        allowed
    }

    /// The current tags a grant shows, in lexical order.
    pub fn visible_tags<'a>(&'a self, grant: &'a TagGrant) -> impl Iterator<Item = &'a str> + 'a {
        self.tags
            .keys()
            .map(String::as_str)
            .filter(move |t| grant.covers(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn pro(has_entitlements: bool) -> OrgFacts {
        OrgFacts {
            plan: Plan::Pro,
            trial_ends_at: None,
            has_entitlements,
        }
    }

    fn all(artifact: &str) -> Grant {
        Grant {
            artifact: artifact.into(),
            tags: TagGrant::All,
        }
    }

    fn tags(artifact: &str, t: &[&str]) -> Grant {
        Grant {
            artifact: artifact.into(),
            tags: TagGrant::Specific(t.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn ent(expires_in_days: Option<i64>, grants: Vec<Grant>) -> Entitlement {
        Entitlement {
            expires_at: expires_in_days.map(|d| now() + Duration::days(d)),
            grants,
        }
    }

    /// (case, org, the customer's entitlements, artifact, tag, allowed)
    type Case = (
        &'static str,
        OrgFacts,
        Vec<Entitlement>,
        &'static str,
        &'static str,
        bool,
    );

    #[test]
    fn the_rules_as_a_table() {
        let trial_ended = OrgFacts {
            plan: Plan::ProTrial,
            trial_ends_at: Some(now() - Duration::days(1)),
            has_entitlements: true,
        };
        let trial_running = OrgFacts {
            plan: Plan::ProTrial,
            trial_ends_at: Some(now() + Duration::days(1)),
            has_entitlements: true,
        };
        let community = OrgFacts {
            plan: Plan::Community,
            trial_ends_at: None,
            has_entitlements: true,
        };
        let cases: Vec<Case> = vec![
            (
                "no entitlements in the org: all see all",
                pro(false),
                vec![],
                "web",
                "1.0",
                true,
            ),
            (
                "first entitlement created: others see nothing",
                pro(true),
                vec![],
                "web",
                "1.0",
                false,
            ),
            (
                "all tags grant",
                pro(true),
                vec![ent(None, vec![all("web")])],
                "web",
                "1.0",
                true,
            ),
            (
                "all tags picks up a tag pushed later",
                pro(true),
                vec![ent(None, vec![all("web")])],
                "web",
                "9.9-later",
                true,
            ),
            (
                "all tags of one artifact only",
                pro(true),
                vec![ent(None, vec![all("web")])],
                "api",
                "1.0",
                false,
            ),
            (
                "specific tag granted",
                pro(true),
                vec![ent(None, vec![tags("web", &["1.0"])])],
                "web",
                "1.0",
                true,
            ),
            (
                "specific tag not granted",
                pro(true),
                vec![ent(None, vec![tags("web", &["1.0"])])],
                "web",
                "2.0",
                false,
            ),
            (
                "union of two entitlements",
                pro(true),
                vec![
                    ent(None, vec![tags("web", &["1.0"])]),
                    ent(None, vec![tags("web", &["2.0"])]),
                ],
                "web",
                "2.0",
                true,
            ),
            (
                "union with all tags wins",
                pro(true),
                vec![
                    ent(None, vec![tags("web", &["1.0"])]),
                    ent(None, vec![all("web")]),
                ],
                "web",
                "3.0",
                true,
            ),
            (
                "expired entitlement ignored",
                pro(true),
                vec![ent(Some(-1), vec![all("web")])],
                "web",
                "1.0",
                false,
            ),
            (
                "future expiry still active",
                pro(true),
                vec![ent(Some(1), vec![all("web")])],
                "web",
                "1.0",
                true,
            ),
            (
                "expired one does not hide an active one",
                pro(true),
                vec![
                    ent(Some(-1), vec![all("api")]),
                    ent(Some(5), vec![all("web")]),
                ],
                "web",
                "1.0",
                true,
            ),
            (
                "community plan: rule 1, all see all",
                community,
                vec![],
                "web",
                "1.0",
                true,
            ),
            (
                "ended trial: rule 1, all see all",
                trial_ended,
                vec![],
                "web",
                "1.0",
                true,
            ),
            (
                "running trial: entitlements apply",
                trial_running,
                vec![],
                "web",
                "1.0",
                false,
            ),
        ];
        for (case, org, ents, artifact, tag, allowed) in cases {
            let v = visibility(org, &ents, now());
            assert_eq!(v.tag_allowed(artifact, tag), allowed, "{case}");
            if allowed {
                assert!(
                    v.artifact_visible(artifact),
                    "{case}: a pullable tag implies a visible artifact"
                );
            }
        }
    }

    #[test]
    fn a_specific_tag_grants_only_its_artifact() {
        let v = visibility(pro(true), &[ent(None, vec![tags("web", &["1.0"])])], now());
        // (Digests by tag history: `digests_and_blobs_follow_granted_tags…`.)
        assert!(v.tag_allowed("web", "1.0"));
        assert!(!v.tag_allowed("web", "2.0"));
        assert!(v.artifact_visible("web"));
        assert!(!v.artifact_visible("api"));
    }

    #[test]
    fn digests_and_blobs_follow_granted_tags_children_and_referrers() {
        let s = |v: &str| v.to_owned();
        let mut g = RepoGraph::default();
        // 1.0 now points at index I (children M1, M2), before at OLD;
        // 2.0 points at M3; SIG refers to I, SBOM refers to SIG; M4 untagged.
        g.tags.insert(s("1.0"), s("I"));
        g.tags.insert(s("2.0"), s("M3"));
        g.tag_history = vec![
            (s("1.0"), s("OLD")),
            (s("1.0"), s("I")),
            (s("2.0"), s("M3")),
        ];
        g.children.insert(s("I"), vec![s("M1"), s("M2")]);
        g.referrers.insert(s("I"), vec![s("SIG")]);
        g.referrers.insert(s("SIG"), vec![s("SBOM")]);
        for (m, b) in [
            ("OLD", "b-old"),
            ("M1", "b1"),
            ("M2", "b2"),
            ("M3", "b3"),
            ("M4", "b4"),
            ("SIG", "b-sig"),
        ] {
            g.blobs.insert(s(m), vec![s(b), s("shared-config")]);
        }
        let one = TagGrant::Specific([s("1.0")].into());
        let a = g.allowed(&one);
        for m in ["OLD", "I", "M1", "M2", "SIG", "SBOM"] {
            assert!(a.manifests.contains(m), "{m}");
        }
        for m in ["M3", "M4"] {
            assert!(!a.manifests.contains(m), "{m}");
        }
        for b in ["b-old", "b1", "b2", "b-sig", "shared-config"] {
            assert!(a.blobs.contains(b), "{b}");
        }
        assert!(!a.blobs.contains("b3") && !a.blobs.contains("b4"));
        assert_eq!(g.visible_tags(&one).collect::<Vec<_>>(), ["1.0"]);
        let all = g.allowed(&TagGrant::All);
        assert!(
            all.manifests.contains("M3") && !all.manifests.contains("M4"),
            "untagged stays out"
        );
        assert_eq!(
            g.visible_tags(&TagGrant::All).collect::<Vec<_>>(),
            ["1.0", "2.0"]
        );
        // The fallback for an artifact that is not granted allows nothing.
        let none = g.allowed(&NOTHING);
        assert!(none.manifests.is_empty() && none.blobs.is_empty());
        assert_eq!(g.visible_tags(&NOTHING).count(), 0);
        assert!(!NOTHING.covers("1.0"));
    }

    #[test]
    fn expiry_is_checked_at_decision_time() {
        let e = ent(Some(1), vec![all("web")]);
        assert!(visibility(pro(true), std::slice::from_ref(&e), now()).tag_allowed("web", "1"));
        assert!(!visibility(pro(true), &[e], now() + Duration::days(2)).tag_allowed("web", "1"));
    }
}
