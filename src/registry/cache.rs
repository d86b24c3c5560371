//! What the hot pull path reads from memory instead of the database: org
//! ids by slug, manifests by (repository, reference), and each repository's
//! graph (tags, tag history, children, referrers, blobs) with the allowed
//! sets computed from it per grant. Every manifest write or delete evicts
//! the repository's entries, and a generation counter keeps a load that
//! raced with an eviction out of the cache.

use bytes::Bytes;
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
}

/// Bounds memory: past this many manifests the cache starts over.
const MAX_MANIFESTS: usize = 50_000;
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

#[derive(Default)]
pub struct RegistryCache {
    /// Org slugs never change owner (orgs are not renamed or deleted).
    orgs: RwLock<HashMap<String, OrgId>>,
    manifests: RwLock<HashMap<(String, String), Arc<CachedManifest>>>,
    graphs: RwLock<HashMap<String, Arc<GraphEntry>>>,
    generation: AtomicU64,
}

impl RegistryCache {
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

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn manifest(&self, repo: &str, reference: &str) -> Option<Arc<CachedManifest>> {
        self.manifests
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(repo.to_owned(), reference.to_owned()))
            .cloned()
    }

    /// Caches a manifest loaded at `generation`, unless an eviction happened since.
    pub fn put_manifest(
        &self,
        generation: u64,
        repo: &str,
        reference: &str,
        m: Arc<CachedManifest>,
    ) {
        let mut map = self.manifests.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() != generation {
            return;
        }
        if map.len() >= MAX_MANIFESTS {
            map.clear();
        }
        map.insert((repo.to_owned(), reference.to_owned()), m);
    }

    pub fn graph(&self, repo: &str) -> Option<Arc<GraphEntry>> {
        self.graphs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(repo)
            .cloned()
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
        let mut map = self.manifests.write().unwrap_or_else(|e| e.into_inner());
        let mut graphs = self.graphs.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.retain(|(r, _), _| r != repo);
        graphs.remove(repo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Arc<CachedManifest> {
        Arc::new(CachedManifest {
            repo: 1,
            digest: "d".into(),
            media_type: "t".into(),
            content: Bytes::new(),
        })
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
}
