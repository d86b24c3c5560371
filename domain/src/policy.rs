//! The entitlement rules of SPEC §3 as pure functions over plain data. The
//! registry, the portal and the API all ask these functions; nothing else
//! decides what a customer may see.

use crate::Plan;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A rule that covers every current and future tag it matches.
#[derive(Debug, Clone)]
pub enum TagRule {
    /// A glob: `*` any run of characters, `?` one character; anchored and
    /// case-sensitive.
    Match(String),
    /// A semver range in Cargo's syntax (`>=1.2, <2`), compiled. Tags are
    /// read as versions with an optional leading `v`; `1` and `1.2` read as
    /// `1.0.0` and `1.2.0`; other tags never match, and pre-releases match
    /// only when the range names a pre-release of the same version.
    Semver(String, semver::VersionReq),
}

/// The longest pattern or range accepted (a tag has at most 128 characters).
const MAX_RULE: usize = 128;

impl TagRule {
    /// A glob, checked: tag characters plus `*` and `?`.
    pub fn glob(pattern: &str) -> Result<TagRule, String> {
        let p = pattern.trim();
        if p.is_empty() {
            return Err("Enter a pattern, for example *-stable.".into());
        }
        if p.len() > MAX_RULE {
            return Err(format!("A pattern has at most {MAX_RULE} characters."));
        }
        if let Some(c) = p
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '*' | '?')))
        {
            return Err(format!(
                "\"{p}\" contains \"{c}\": a pattern has letters, digits, '.', '_', '-', '*' and '?'."
            ));
        }
        Ok(TagRule::Match(p.to_owned()))
    }

    /// A semver range, checked.
    pub fn semver(range: &str) -> Result<TagRule, String> {
        let r = range.trim();
        if r.is_empty() {
            return Err("Enter a version range, for example >=1.2, <2.".into());
        }
        if r.len() > MAX_RULE {
            return Err(format!(
                "A version range has at most {MAX_RULE} characters."
            ));
        }
        semver::VersionReq::parse(r)
            .map(|req| TagRule::Semver(r.to_owned(), req))
            .map_err(|e| format!("\"{r}\" is not a version range ({e}); write it like >=1.2, <2."))
    }

    /// The pattern or range as the vendor wrote it.
    pub fn source(&self) -> &str {
        match self {
            TagRule::Match(s) | TagRule::Semver(s, _) => s,
        }
    }

    pub fn matches(&self, tag: &str) -> bool {
        match self {
            TagRule::Match(p) => glob_matches(p.as_bytes(), tag.as_bytes()),
            TagRule::Semver(_, req) => tag_version(tag).is_some_and(|v| req.matches(&v)),
        }
    }

    /// How the rule reads in a list: "1.x stable: `>=1.0, <2`" or "tags
    /// matching `*-stable`".
    pub fn describe(&self) -> String {
        match self {
            TagRule::Match(p) => format!("tags matching {p}"),
            TagRule::Semver(s, req) => format!("{}: {s}", range_label(req)),
        }
    }

    fn key(&self) -> (u8, &str) {
        match self {
            TagRule::Match(s) => (0, s),
            TagRule::Semver(s, _) => (1, s),
        }
    }
}

impl PartialEq for TagRule {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for TagRule {}
impl std::hash::Hash for TagRule {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}
impl PartialOrd for TagRule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TagRule {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// A tag as a version: `v` prefix allowed, `1` and `1.2` completed with
/// zeros; `None` when it is not a version.
pub fn tag_version(tag: &str) -> Option<semver::Version> {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    if let Ok(v) = semver::Version::parse(t) {
        return Some(v);
    }
    let parts: Vec<&str> = t.split('.').collect();
    let numeric = |p: &&str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    if parts.len() > 2 || !parts.iter().all(numeric) {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse().ok());
    Some(semver::Version::new(n(0)?, n(1)?, 0))
}

/// "1.x stable" for `>=1.y, <2` (and `^1.y`, `~1.y`), "stable" for a range
/// with no pre-release, else "versions".
fn range_label(req: &semver::VersionReq) -> String {
    use semver::Op;
    let stable = req.comparators.iter().all(|c| c.pre.is_empty());
    let word = if stable { "stable" } else { "versions" };
    let majors: Option<u64> = match req.comparators.as_slice() {
        [c] if matches!(c.op, Op::Caret | Op::Tilde | Op::Wildcard) && c.major > 0 => Some(c.major),
        [lo, hi]
            if lo.op == Op::GreaterEq
                && hi.op == Op::Less
                && hi.major == lo.major + 1
                && hi.minor.unwrap_or(0) == 0
                && hi.patch.unwrap_or(0) == 0 =>
        {
            Some(lo.major)
        }
        _ => None,
    };
    match majors {
        Some(m) => format!("{m}.x {word}"),
        None => word.to_owned(),
    }
}

/// Anchored glob matching over bytes (tags are ASCII): `*` any run, `?` one.
fn glob_matches(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // Let the last star take one more character.
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Which tags of one artifact one grant of an entitlement covers. (Ordered,
/// `All` first, for a canonical [`TagGrant::released`].)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagScope {
    /// Every tag the artifact has now or will have.
    All,
    /// These tag names and every tag a rule matches (now or later); the
    /// grant follows the tag.
    Only {
        tags: BTreeSet<String>,
        rules: BTreeSet<TagRule>,
    },
}

impl TagScope {
    /// No tag at all.
    pub const NONE: TagScope = TagScope::Only {
        tags: BTreeSet::new(),
        rules: BTreeSet::new(),
    };

    /// Exactly these tag names.
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(tags: I) -> TagScope {
        TagScope::Only {
            tags: tags.into_iter().map(Into::into).collect(),
            rules: BTreeSet::new(),
        }
    }

    /// One rule.
    pub fn rule(rule: TagRule) -> TagScope {
        TagScope::Only {
            tags: BTreeSet::new(),
            rules: [rule].into(),
        }
    }

    pub fn covers(&self, tag: &str) -> bool {
        match self {
            TagScope::All => true,
            TagScope::Only { tags, rules } => {
                tags.contains(tag) || rules.iter().any(|r| r.matches(tag))
            }
        }
    }

    /// What either covers.
    pub fn union(self, other: &TagScope) -> TagScope {
        match (self, other) {
            (TagScope::All, _) | (_, TagScope::All) => TagScope::All,
            (
                TagScope::Only {
                    mut tags,
                    mut rules,
                },
                TagScope::Only { tags: t, rules: r },
            ) => {
                tags.extend(t.iter().cloned());
                rules.extend(r.iter().cloned());
                TagScope::Only { tags, rules }
            }
        }
    }
}

/// What an entitlement does when it expires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AfterExpiry {
    /// Access ends (the default).
    #[default]
    Revoke,
    /// The customer keeps pulling what the entitlement covered at its
    /// expiry (by digest, and by tag while the tag still points there), but
    /// nothing pushed later.
    KeepReleased,
}

impl AfterExpiry {
    pub fn as_str(self) -> &'static str {
        match self {
            AfterExpiry::Revoke => "revoke",
            AfterExpiry::KeepReleased => "keep_released",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [AfterExpiry::Revoke, AfterExpiry::KeepReleased]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// What one customer may pull of one artifact: the union of its grants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagGrant {
    /// What unexpired entitlements grant: follows the tags.
    pub live: TagScope,
    /// What expired keep-released entitlements still grant: only tag
    /// assignments made before each one's expiry (sorted, no duplicates).
    pub released: Vec<Released>,
}

/// The part of a grant kept after a keep-released entitlement expired.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Released {
    /// The expiry: tag assignments made before it count.
    pub until: DateTime<Utc>,
    pub scope: TagScope,
}

/// The grant of an artifact that is not granted: no tag, so no manifest and
/// no blob. What a check falls back to, so that it fails closed.
pub static NOTHING: TagGrant = TagGrant {
    live: TagScope::NONE,
    released: Vec::new(),
};

/// Every tag (a vendor's view, or a customer under rule 1).
pub static EVERY_TAG: TagGrant = TagGrant {
    live: TagScope::All,
    released: Vec::new(),
};

impl From<TagScope> for TagGrant {
    fn from(live: TagScope) -> Self {
        TagGrant {
            live,
            released: Vec::new(),
        }
    }
}

impl TagGrant {
    /// Whether the grant covers `tag` by its name alone, whatever it points
    /// at. A grant with a [`released`](TagGrant::released) part may cover
    /// more: [`RepoGraph::tag_allowed`] decides with the tag's history.
    pub fn covers(&self, tag: &str) -> bool {
        self.live.covers(tag)
    }

    /// The decision for a pull by `tag` when the name alone decides it;
    /// `None` when it needs the tag's history ([`RepoGraph::tag_allowed`]).
    pub fn by_name(&self, tag: &str) -> Option<bool> {
        match self.covers(tag) {
            true => Some(true),
            false if self.has_released() => None,
            false => Some(false),
        }
    }

    /// Whether tag decisions need the repository's tag history.
    pub fn has_released(&self) -> bool {
        !self.released.is_empty()
    }

    /// Whether the assignment of `tag` to a digest at `at` is covered.
    fn covers_assignment(&self, tag: &str, at: DateTime<Utc>) -> bool {
        self.live.covers(tag)
            || self
                .released
                .iter()
                .any(|r| at < r.until && r.scope.covers(tag))
    }
}

/// One artifact in an entitlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Artifact name without the org slug.
    pub artifact: String,
    pub tags: TagScope,
}

/// An entitlement as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub expires_at: Option<DateTime<Utc>>,
    pub after_expiry: AfterExpiry,
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
    for e in customer_entitlements {
        let released = match e.expires_at {
            _ if e.is_active(now) => None,
            Some(until) if e.after_expiry == AfterExpiry::KeepReleased => Some(until),
            // Expired and revoked.
            _ => continue,
        };
        for g in &e.grants {
            let entry = granted
                .entry(g.artifact.clone())
                .or_insert_with(|| NOTHING.clone());
            match released {
                None => {
                    entry.live = std::mem::replace(&mut entry.live, TagScope::NONE).union(&g.tags)
                }
                Some(until) => entry.released.push(Released {
                    until,
                    scope: g.tags.clone(),
                }),
            }
        }
    }
    for grant in granted.values_mut() {
        if grant.live == TagScope::All {
            grant.released.clear();
        }
        grant.released.sort();
        grant.released.dedup();
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

    /// What the customer may pull of `artifact`: every tag under rule 1,
    /// [`NOTHING`] when it is not granted.
    pub fn grant(&self, artifact: &str) -> &TagGrant {
        match self {
            Visibility::Everything => &EVERY_TAG,
            Visibility::Granted(g) => g.get(artifact).unwrap_or(&NOTHING),
        }
    }

    /// Whether a manifest may be pulled by this tag, by the tag's name (see
    /// [`TagGrant::covers`]; [`RepoGraph::tag_allowed`] also knows released
    /// grants).
    pub fn tag_allowed(&self, artifact: &str, tag: &str) -> bool {
        self.grant(artifact).covers(tag)
    }
}

/// What one repository holds, as the digest and blob rules need it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RepoGraph {
    /// Current tags and their digests.
    pub tags: BTreeMap<String, String>,
    /// Every (tag, digest, when) assignment the repository ever had,
    /// current ones included (tag history).
    pub tag_history: Vec<(String, String, DateTime<Utc>)>,
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
            .filter(|(tag, _, at)| grant.covers_assignment(tag, *at))
            .map(|(_, digest, _)| digest.as_str())
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

    /// Whether `tag` may be pulled by name under `grant`: the live part
    /// covers it, or a released part covered the assignment the tag has
    /// now (it pointed there before that entitlement expired).
    pub fn tag_allowed(&self, grant: &TagGrant, tag: &str) -> bool {
        if let Some(decided) = grant.by_name(tag) {
            return decided;
        }
        let Some(digest) = self.tags.get(tag) else {
            return false;
        };
        self.tag_history
            .iter()
            .any(|(t, d, at)| t == tag && d == digest && grant.covers_assignment(t, *at))
    }

    /// The current tags a grant shows, in lexical order.
    pub fn visible_tags<'a>(&'a self, grant: &'a TagGrant) -> impl Iterator<Item = &'a str> + 'a {
        self.tags
            .keys()
            .map(String::as_str)
            .filter(move |t| self.tag_allowed(grant, t))
    }
}

/// The rules' test fixtures are shared with `access.rs`'s tests.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::Duration;

    pub(crate) fn now() -> DateTime<Utc> {
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

    pub(crate) fn all(artifact: &str) -> Grant {
        Grant {
            artifact: artifact.into(),
            tags: TagScope::All,
        }
    }

    fn tags(artifact: &str, t: &[&str]) -> Grant {
        Grant {
            artifact: artifact.into(),
            tags: TagScope::tags(t.iter().copied()),
        }
    }

    fn glob(artifact: &str, p: &str) -> Grant {
        Grant {
            artifact: artifact.into(),
            tags: TagScope::rule(TagRule::glob(p).unwrap()),
        }
    }

    fn range(artifact: &str, r: &str) -> Grant {
        Grant {
            artifact: artifact.into(),
            tags: TagScope::rule(TagRule::semver(r).unwrap()),
        }
    }

    pub(crate) fn ent(expires_in_days: Option<i64>, grants: Vec<Grant>) -> Entitlement {
        Entitlement {
            expires_at: expires_in_days.map(|d| now() + Duration::days(d)),
            after_expiry: AfterExpiry::Revoke,
            grants,
        }
    }

    fn keep(expires_in_days: i64, grants: Vec<Grant>) -> Entitlement {
        Entitlement {
            after_expiry: AfterExpiry::KeepReleased,
            ..ent(Some(expires_in_days), grants)
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
        let mut cases: Vec<Case> = vec![
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
                "glob matches, anchored",
                pro(true),
                vec![ent(None, vec![glob("web", "*-stable")])],
                "web",
                "2.1-stable",
                true,
            ),
            (
                "glob is anchored at the end",
                pro(true),
                vec![ent(None, vec![glob("web", "*-stable")])],
                "web",
                "2.1-stable-rc",
                false,
            ),
            (
                "glob is case-sensitive",
                pro(true),
                vec![ent(None, vec![glob("web", "*-stable")])],
                "web",
                "2.1-STABLE",
                false,
            ),
            (
                "glob ? is one character",
                pro(true),
                vec![ent(None, vec![glob("web", "1.?")])],
                "web",
                "1.7",
                true,
            ),
            (
                "glob ? is exactly one character",
                pro(true),
                vec![ent(None, vec![glob("web", "1.?")])],
                "web",
                "1.10",
                false,
            ),
            (
                "range covers a later release",
                pro(true),
                vec![ent(None, vec![range("web", ">=1.2, <2")])],
                "web",
                "1.9.3",
                true,
            ),
            (
                "range excludes the next major",
                pro(true),
                vec![ent(None, vec![range("web", ">=1.2, <2")])],
                "web",
                "2.0.0",
                false,
            ),
            (
                "range excludes below its floor",
                pro(true),
                vec![ent(None, vec![range("web", ">=1.2, <2")])],
                "web",
                "1.1.9",
                false,
            ),
            (
                "range: a v prefix is read",
                pro(true),
                vec![ent(None, vec![range("web", ">=1.2, <2")])],
                "web",
                "v1.4.0",
                true,
            ),
            (
                "range: a short version reads as .0",
                pro(true),
                vec![ent(None, vec![range("web", ">=1.2, <2")])],
                "web",
                "1.3",
                true,
            ),
            (
                "range: not a version never matches",
                pro(true),
                vec![ent(None, vec![range("web", "*")])],
                "web",
                "latest",
                false,
            ),
            (
                "range: pre-releases stay out (stable only)",
                pro(true),
                vec![ent(None, vec![range("web", ">=1.2, <2")])],
                "web",
                "1.5.0-rc.1",
                false,
            ),
            (
                "range naming a pre-release of the same version takes it",
                pro(true),
                vec![ent(None, vec![range("web", ">=1.5.0-rc.1, <2")])],
                "web",
                "1.5.0-rc.2",
                true,
            ),
            (
                "but not a pre-release of another version",
                pro(true),
                vec![ent(None, vec![range("web", ">=1.5.0-rc.1, <2")])],
                "web",
                "1.6.0-rc.1",
                false,
            ),
            (
                "expired rule is revoked by default",
                pro(true),
                vec![ent(Some(-1), vec![range("web", "^1")])],
                "web",
                "1.0.0",
                false,
            ),
            (
                "keep-released before its expiry follows its rule",
                pro(true),
                vec![keep(1, vec![range("web", "^1")])],
                "web",
                "1.9.9",
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
        let rule_and_list = vec![
            ent(None, vec![range("web", "^1")]),
            ent(None, vec![tags("web", &["nightly"])]),
        ];
        for (case, tag, allowed) in [
            (
                "union of a rule and a list: the list's tag",
                "nightly",
                true,
            ),
            ("union of a rule and a list: the rule's tag", "1.8.0", true),
            ("union of a rule and a list: neither", "2.0.0", false),
        ] {
            cases.push((case, pro(true), rule_and_list.clone(), "web", tag, allowed));
        }
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
        let at = now();
        g.tag_history = vec![
            (s("1.0"), s("OLD"), at),
            (s("1.0"), s("I"), at),
            (s("2.0"), s("M3"), at),
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
        let one = TagGrant::from(TagScope::tags(["1.0"]));
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
        let all = g.allowed(&EVERY_TAG);
        assert!(
            all.manifests.contains("M3") && !all.manifests.contains("M4"),
            "untagged stays out"
        );
        assert_eq!(
            g.visible_tags(&EVERY_TAG).collect::<Vec<_>>(),
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

    /// A graph of one artifact: (tag, digest, days before `now()`) pushes in
    /// order; each digest has blob `b-<digest>`.
    fn pushed(history: &[(&str, &str, i64)]) -> RepoGraph {
        let mut g = RepoGraph::default();
        for (tag, digest, days_ago) in history {
            g.tags.insert(tag.to_string(), digest.to_string());
            g.tag_history.push((
                tag.to_string(),
                digest.to_string(),
                now() - Duration::days(*days_ago),
            ));
            g.blobs
                .insert(digest.to_string(), vec![format!("b-{digest}")]);
        }
        g
    }

    #[test]
    fn a_rule_follows_re_pushes_and_keeps_earlier_digests() {
        // 1.2.0 pushed as A, then re-pushed as B; 2.0.0 is C.
        let g = pushed(&[("1.2.0", "A", 3), ("1.2.0", "B", 2), ("2.0.0", "C", 1)]);
        let v = visibility(pro(true), &[ent(None, vec![range("web", "^1")])], now());
        let grant = v.grant("web");
        let allowed = g.allowed(grant);
        assert!(allowed.manifests.contains("A") && allowed.manifests.contains("B"));
        assert!(!allowed.manifests.contains("C"));
        assert!(allowed.blobs.contains("b-A") && !allowed.blobs.contains("b-C"));
        assert!(g.tag_allowed(grant, "1.2.0") && !g.tag_allowed(grant, "2.0.0"));
        assert_eq!(g.visible_tags(grant).collect::<Vec<_>>(), ["1.2.0"]);
    }

    #[test]
    fn keep_released_keeps_what_was_covered_at_the_expiry_and_nothing_later() {
        // Expired 2 days ago. 1.0.0 = A before; 1.1.0 = B after; 1.0.0 later
        // moved to D (after); latest = E before (not covered by the rule).
        let g = pushed(&[
            ("1.0.0", "A", 5),
            ("latest", "E", 4),
            ("1.1.0", "B", 1),
            ("1.2.0", "F", 3),
        ]);
        let e = keep(-2, vec![range("web", "^1")]);
        let v = visibility(pro(true), std::slice::from_ref(&e), now());
        assert!(v.artifact_visible("web"));
        let grant = v.grant("web");
        assert!(grant.has_released() && !grant.covers("1.0.0"));
        let allowed = g.allowed(grant);
        assert!(allowed.manifests.contains("A") && allowed.manifests.contains("F"));
        assert!(!allowed.manifests.contains("B"), "pushed after the expiry");
        assert!(
            !allowed.manifests.contains("E"),
            "never covered by the rule"
        );
        assert!(g.tag_allowed(grant, "1.0.0") && g.tag_allowed(grant, "1.2.0"));
        assert!(!g.tag_allowed(grant, "1.1.0") && !g.tag_allowed(grant, "latest"));
        assert_eq!(
            g.visible_tags(grant).collect::<Vec<_>>(),
            ["1.0.0", "1.2.0"]
        );

        // The tag moves after the expiry: the old digest stays pullable by
        // digest, the tag no longer gives it.
        let mut moved = g.clone();
        moved.tags.insert("1.0.0".into(), "D".into());
        moved
            .tag_history
            .push(("1.0.0".into(), "D".into(), now() - Duration::days(1)));
        let allowed = moved.allowed(grant);
        assert!(allowed.manifests.contains("A") && !allowed.manifests.contains("D"));
        assert!(!moved.tag_allowed(grant, "1.0.0"));

        // Revoke (the default) keeps nothing; before the expiry, a
        // keep-released entitlement is like any other.
        let revoked = visibility(pro(true), &[ent(Some(-2), vec![range("web", "^1")])], now());
        assert!(!revoked.artifact_visible("web"));
        assert!(g.allowed(revoked.grant("web")).manifests.is_empty());
        let before = visibility(pro(true), &[e], now() - Duration::days(3));
        assert!(!before.grant("web").has_released());
        assert!(g.tag_allowed(before.grant("web"), "1.1.0"));

        // An active grant of every tag makes the released part moot.
        let both = visibility(
            pro(true),
            &[
                keep(-2, vec![range("web", "^1")]),
                ent(None, vec![all("web")]),
            ],
            now(),
        );
        assert_eq!(both.grant("web"), &EVERY_TAG);
    }

    #[test]
    fn globs_and_versions() {
        for (p, tag, ok) in [
            ("*", "anything", true),
            ("*-stable", "-stable", true),
            ("1.*.*", "1.2.3", true),
            ("1.*.*", "1.2", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("??", "ab", true),
            ("??", "abc", false),
        ] {
            assert_eq!(TagRule::glob(p).unwrap().matches(tag), ok, "{p} {tag}");
        }
        assert!(TagRule::glob("a b").is_err() && TagRule::glob("").is_err());
        assert!(TagRule::glob(&"x".repeat(129)).is_err());
        assert_eq!(tag_version("v1"), Some(semver::Version::new(1, 0, 0)));
        assert_eq!(tag_version("1.02"), None, "leading zeros are not versions");
        assert_eq!(tag_version("1.2.3.4"), None);
        assert_eq!(tag_version("latest"), None);
        let rule = |r: &str| TagRule::semver(r).unwrap().describe();
        assert_eq!(rule(">=1.0, <2"), "1.x stable: >=1.0, <2");
        assert_eq!(rule("^3.1"), "3.x stable: ^3.1");
        assert_eq!(rule(">=1.0.0-rc.1"), "versions: >=1.0.0-rc.1");
        assert_eq!(
            TagRule::glob("*-lts").unwrap().describe(),
            "tags matching *-lts"
        );
        assert!(TagRule::semver("1.2.x.y").is_err());
    }
}
