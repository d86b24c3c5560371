//! What the hot pull path reads from memory instead of the database: org
//! ids by slug, manifests by (repository, reference), and each repository's
//! graph (tags, tag history, children, referrers, blobs) with the allowed
//! sets computed from it per grant. Every manifest write or delete evicts
//! the repository's entries, and a generation counter keeps a load that
//! raced with an eviction out of the cache.

use bytes::Bytes;
use domain::changes::Change;
use domain::policy::{Allowed, RepoGraph, TagGrant};
use domain::store::RepoId;
use domain::OrgId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug)]
pub struct CachedManifest {
    pub repo: RepoId,
    pub digest: String,
    pub media_type: String,
    pub content: Bytes,
    /// An index's child manifests (digests); empty for anything else. The
    /// pull log counts a child fetched after its index as the same pull.
    pub children: Vec<String>,
}

impl CachedManifest {
    pub fn new(repo: RepoId, digest: String, media_type: String, content: Bytes) -> Self {
        let children = if super::manifests::is_index(&media_type) {
            index_children(&content)
        } else {
            Vec::new()
        };
        Self {
            repo,
            digest,
            media_type,
            content,
            children,
        }
    }
}

/// The digests an image index lists (it was checked when it was pushed).
fn index_children(content: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Index {
        #[serde(default)]
        manifests: Vec<Child>,
    }
    #[derive(serde::Deserialize)]
    struct Child {
        digest: String,
    }
    serde_json::from_slice::<Index>(content)
        .map(|i| i.manifests.into_iter().map(|c| c.digest).collect())
        .unwrap_or_default()
}

/// Bounds the manifest cache's memory, in bytes (contents, keys and a
/// per-entry overhead): a manifest may be up to 4 MiB and is cached under
/// each reference it was pulled by, so an entry count alone bounds nothing.
pub const MANIFEST_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// What one cached entry costs beyond its strings (map slot, `Arc`, struct).
const ENTRY_OVERHEAD: usize = 128;
/// The same for repository graphs.
const MAX_GRAPHS: usize = 20_000;

/// A repository's graph and the allowed sets computed from it, by grant
/// (customers with the same grant share one set).
#[derive(Debug)]
pub struct GraphEntry {
    graph: RepoGraph,
    allowed: Mutex<HashMap<TagGrant, Arc<Allowed>>>,
}

impl GraphEntry {
    pub fn graph(&self) -> &RepoGraph {
        &self.graph
    }

    pub fn allowed(&self, grant: &TagGrant) -> Arc<Allowed> {
        let mut map = self.allowed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = map.get(grant) {
            return a.clone();
        }
        if map.len() >= 1024 {
            map.clear();
        }
        let a = Arc::new(self.graph.allowed(grant));
        map.insert(grant.clone(), a.clone());
        a
    }
}

impl CachedManifest {
    /// What caching this under (`repo`, `reference`) costs, in bytes.
    fn cost(&self, repo: &str, reference: &str) -> usize {
        self.content.len()
            + self.children.iter().map(String::len).sum::<usize>()
            + self.digest.len()
            + self.media_type.len()
            + repo.len()
            + reference.len()
            + ENTRY_OVERHEAD
    }
}

/// Manifests by (repository, reference), with their total cost in bytes.
#[derive(Default)]
struct Manifests {
    map: HashMap<(String, String), Arc<CachedManifest>>,
    bytes: usize,
}

impl Manifests {
    fn remove(&mut self, key: &(String, String)) {
        if let Some(m) = self.map.remove(key) {
            self.bytes -= m.cost(&key.0, &key.1);
        }
    }
}

pub struct RegistryCache {
    /// Org slugs never change owner (orgs are not renamed or deleted).
    orgs: RwLock<HashMap<String, OrgId>>,
    /// Repository ids by full name (repositories are never deleted or
    /// renamed): a push starts without a database write.
    repos: RwLock<HashMap<String, RepoId>>,
    manifests: RwLock<Manifests>,
    /// The most bytes `manifests` may hold.
    manifest_budget: usize,
    graphs: RwLock<HashMap<String, Arc<GraphEntry>>>,
    generation: AtomicU64,
    /// Lookups answered from memory and not (`/metrics`).
    pub counts: CacheCounts,
}

/// Hits and misses of the manifest and graph caches.
#[derive(Debug, Default)]
pub struct CacheCounts {
    pub manifest_hits: AtomicU64,
    pub manifest_misses: AtomicU64,
    pub graph_hits: AtomicU64,
    pub graph_misses: AtomicU64,
}

fn count(hit: bool, hits: &AtomicU64, misses: &AtomicU64) {
    let c = if hit { hits } else { misses };
    c.fetch_add(1, Ordering::Relaxed);
}

impl Default for RegistryCache {
    fn default() -> Self {
        Self::with_manifest_budget(MANIFEST_CACHE_BYTES)
    }
}

impl RegistryCache {
    /// A cache whose manifests take at most `bytes`.
    pub fn with_manifest_budget(bytes: usize) -> Self {
        Self {
            orgs: RwLock::default(),
            repos: RwLock::default(),
            manifests: RwLock::default(),
            manifest_budget: bytes,
            graphs: RwLock::default(),
            generation: AtomicU64::new(0),
            counts: CacheCounts::default(),
        }
    }

    /// The bytes the cached manifests take now.
    pub fn manifest_bytes(&self) -> usize {
        self.manifests
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .bytes
    }

    pub fn org(&self, slug: &str) -> Option<OrgId> {
        self.orgs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(slug)
            .copied()
    }

    pub fn put_org(&self, slug: &str, id: OrgId) {
        self.orgs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(slug.to_owned(), id);
    }

    /// The id of an existing repository (by its full name, org slug included).
    pub fn repo(&self, name: &str) -> Option<RepoId> {
        self.repos
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied()
    }

    pub fn put_repo(&self, name: &str, id: RepoId) {
        let mut map = self.repos.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= 100_000 {
            map.clear();
        }
        map.insert(name.to_owned(), id);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn manifest(&self, repo: &str, reference: &str) -> Option<Arc<CachedManifest>> {
        let found = self
            .manifests
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .get(&(repo.to_owned(), reference.to_owned()))
            .cloned();
        let c = &self.counts;
        count(found.is_some(), &c.manifest_hits, &c.manifest_misses);
        found
    }

    /// Caches a manifest loaded at `generation`, unless an eviction happened since.
    pub fn put_manifest(
        &self,
        generation: u64,
        repo: &str,
        reference: &str,
        m: Arc<CachedManifest>,
    ) {
        let mut cache = self.manifests.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() != generation {
            return;
        }
        let key = (repo.to_owned(), reference.to_owned());
        let cost = m.cost(repo, reference);
        if cost > self.manifest_budget {
            return;
        }
        cache.remove(&key);
        // Make room: drop entries (in the map's arbitrary order) until this
        // one fits.
        if cache.bytes + cost > self.manifest_budget {
            let mut freed = 0;
            let need = cache.bytes + cost - self.manifest_budget;
            let victims: Vec<(String, String)> = cache
                .map
                .iter()
                .take_while(|(k, v)| {
                    let more = freed < need;
                    freed += v.cost(&k.0, &k.1);
                    more
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in &victims {
                cache.remove(k);
            }
        }
        cache.bytes += cost;
        cache.map.insert(key, m);
    }

    pub fn graph(&self, repo: &str) -> Option<Arc<GraphEntry>> {
        let found = self
            .graphs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(repo)
            .cloned();
        let c = &self.counts;
        count(found.is_some(), &c.graph_hits, &c.graph_misses);
        found
    }

    /// Forgets what a committed change makes stale: a repository's
    /// content changed (a push, a tag move, a delete), here or on another
    /// instance (the change feed). Registered with the change hub.
    pub fn apply(&self, change: &Change) {
        let Some(artifact) = change.repository() else {
            return;
        };
        // Nothing of an org is cached before its slug is (every lookup
        // starts with the slug), and slugs never change owner.
        let slug = self
            .orgs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, id)| **id == change.org_id)
            .map(|(slug, _)| slug.clone());
        if let Some(slug) = slug {
            self.evict_repo(&format!("{slug}/{artifact}"));
        }
    }

    /// Caches a graph loaded at `generation`, unless an eviction happened
    /// since; returns it either way.
    pub fn put_graph(&self, generation: u64, repo: &str, graph: RepoGraph) -> Arc<GraphEntry> {
        let entry = Arc::new(GraphEntry {
            graph,
            allowed: Mutex::default(),
        });
        let mut map = self.graphs.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() == generation {
            if map.len() >= MAX_GRAPHS {
                map.clear();
            }
            map.insert(repo.to_owned(), entry.clone());
        }
        entry
    }

    /// Evicts every cached manifest and the graph of repository `repo`
    /// (full name).
    pub fn evict_repo(&self, repo: &str) {
        let mut cache = self.manifests.write().unwrap_or_else(|e| e.into_inner());
        let mut graphs = self.graphs.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        let stale: Vec<(String, String)> = cache
            .map
            .keys()
            .filter(|(r, _)| r == repo)
            .cloned()
            .collect();
        for k in &stale {
            cache.remove(k);
        }
        graphs.remove(repo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Arc<CachedManifest> {
        Arc::new(CachedManifest::new(1, "d".into(), "t".into(), Bytes::new()))
    }

    fn sized(bytes: usize) -> Arc<CachedManifest> {
        Arc::new(CachedManifest::new(
            1,
            "d".into(),
            "t".into(),
            Bytes::from(vec![b'x'; bytes]),
        ))
    }

    #[test]
    fn manifests_are_bounded_by_bytes() {
        const MIB: usize = 1024 * 1024;
        let budget = 10 * MIB;
        let c = RegistryCache::with_manifest_budget(budget);
        let g = c.generation();
        // 4 MiB manifests, each cached by tag and by digest: a count bound
        // of 50,000 would hold 400 GB; the byte bound holds two of them.
        for i in 0..100 {
            c.put_manifest(g, "acme/web", &format!("t{i}"), sized(4 * MIB));
            c.put_manifest(g, "acme/web", &format!("sha256:{i}"), sized(4 * MIB));
            assert!(
                c.manifest_bytes() <= budget,
                "{} > {budget}",
                c.manifest_bytes()
            );
        }
        // The newest entry is always there.
        assert!(c.manifest("acme/web", "sha256:99").is_some());
        assert!(c.manifest_bytes() > 4 * MIB);
        // Small manifests: many fit, and the total still holds.
        for i in 0..20_000 {
            c.put_manifest(g, "acme/api", &format!("v{i}"), sized(1000));
        }
        assert!(c.manifest_bytes() <= budget);
        assert!(c.manifest("acme/api", "v19999").is_some());
        // Re-caching a key replaces it rather than counting it twice.
        let before = c.manifest_bytes();
        c.put_manifest(g, "acme/api", "v19999", sized(1000));
        assert_eq!(c.manifest_bytes(), before);
        // One manifest larger than the whole budget is not cached at all.
        c.put_manifest(g, "acme/big", "1", sized(budget + 1));
        assert!(c.manifest("acme/big", "1").is_none());
        // Eviction of a repository gives its bytes back.
        c.evict_repo("acme/api");
        c.evict_repo("acme/web");
        assert_eq!(c.manifest_bytes(), 0);
    }

    #[test]
    fn eviction_and_generations() {
        let c = RegistryCache::default();
        let g = c.generation();
        c.put_manifest(g, "acme/web", "1.0", m());
        c.put_manifest(g, "acme/api", "1.0", m());
        assert!(c.manifest("acme/web", "1.0").is_some());
        c.evict_repo("acme/web");
        assert!(c.manifest("acme/web", "1.0").is_none());
        assert!(c.manifest("acme/api", "1.0").is_some());
        // A load that started before the eviction is dropped.
        c.put_manifest(g, "acme/web", "1.0", m());
        assert!(c.manifest("acme/web", "1.0").is_none());
        // Graphs too.
        let g = c.generation();
        c.put_graph(g, "acme/web", RepoGraph::default());
        assert!(c.graph("acme/web").is_some());
        c.evict_repo("acme/web");
        assert!(c.graph("acme/web").is_none());
        c.put_graph(g, "acme/web", RepoGraph::default());
        assert!(c.graph("acme/web").is_none(), "raced with the eviction");
    }

    #[test]
    fn repository_changes_evict_across_instances() {
        use domain::changes::ChangeKind;
        let c = RegistryCache::default();
        c.put_org("acme", OrgId::from(1));
        c.put_org("beta", OrgId::from(2));
        let g = c.generation();
        for repo in ["acme/web", "acme/api", "beta/web"] {
            c.put_manifest(g, repo, "1.0", m());
        }
        let change = |kind, artifact: &str| Change {
            id: 1,
            org_id: OrgId::from(1),
            customer_id: None,
            user_id: None,
            kind,
            tagged: Some((artifact.to_owned(), String::new())),
        };
        c.apply(&change(ChangeKind::Repository, "web"));
        assert!(c.manifest("acme/web", "1.0").is_none());
        assert!(c.manifest("acme/api", "1.0").is_some());
        assert!(c.manifest("beta/web", "1.0").is_some(), "another org's web");
        c.apply(&change(ChangeKind::Tagged, "api"));
        assert!(c.manifest("acme/api", "1.0").is_none());
        // Other kinds name no repository.
        c.apply(&change(ChangeKind::Plan, "web"));
        assert!(c.manifest("beta/web", "1.0").is_some());
        let counts = &c.counts;
        assert!(counts.manifest_hits.load(Ordering::Relaxed) >= 3);
        assert!(counts.manifest_misses.load(Ordering::Relaxed) >= 2);
    }
}
