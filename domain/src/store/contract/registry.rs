//! Contract tests: the registry half of the store (run on SQLite and on
//! PostgreSQL).

use super::prelude::*;
use crate::changes::ChangeKind;
use crate::registry::{ArtifactKind, ManifestRef, NewManifest};
use crate::store::{DeleteManifest, PutManifestError};

fn digest(n: u32) -> String {
    format!("sha256:{n:064x}")
}

fn image(n: u32, config: &str, subject: Option<&str>) -> NewManifest {
    let content = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.example.sbom", "digest": config, "size": 10},
        "layers": [],
        "annotations": {"org.opencontainers.image.description": format!("image {n}")},
    });
    NewManifest {
        digest: digest(n),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        artifact_type: None,
        content: serde_json::to_vec(&content).unwrap(),
        subject: subject.map(str::to_owned),
        refs: vec![ManifestRef::Config(config.to_owned())],
        platforms: vec![],
        kind: ArtifactKind::ContainerImage,
    }
}

pub(super) async fn manifests_tags_and_listings(s: Fixture) {
    let (org, _) = s.add_org("acme").await;
    let repo = s.ensure_repo(org.id, "web").await.unwrap();
    assert_eq!(s.ensure_repo(org.id, "web").await.unwrap(), repo);
    let config = digest(1000);
    assert_eq!(
        s.put_manifest(repo.id, image(1, &config, None), &["1.0"], false)
            .await
            .unwrap(),
        Err(PutManifestError::Missing(config.clone()))
    );
    s.link_blob(repo.id, &config, 10).await.unwrap();
    s.link_blob(repo.id, &config, 10).await.unwrap();
    assert_eq!(s.repo_blob(repo.id, &config).await.unwrap(), Some(10));
    assert_eq!(s.blob_size(&config).await.unwrap(), Some(10));
    s.put_manifest(repo.id, image(1, &config, None), &["1.0", "latest"], false)
        .await
        .unwrap()
        .unwrap();
    s.put_manifest(repo.id, image(2, &config, None), &["2.0", "latest"], true)
        .await
        .unwrap()
        .expect_err("latest is immutable");
    s.put_manifest(repo.id, image(2, &config, None), &["2.0", "latest"], false)
        .await
        .unwrap()
        .unwrap();
    let by_tag = s.manifest_by_tag(repo.id, "latest").await.unwrap().unwrap();
    assert_eq!(by_tag.digest, digest(2));
    assert_eq!(
        s.tags(repo.id, None, 10).await.unwrap(),
        ["1.0", "2.0", "latest"]
    );
    assert_eq!(s.tags(repo.id, Some("1.0"), 1).await.unwrap(), ["2.0"]);
    // Tag pushes are in the feed.
    let tagged: Vec<_> = s
        .changes_since(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == ChangeKind::Tagged)
        .filter_map(|c| c.tagged)
        .collect();
    assert_eq!(tagged.len(), 4);
    // The graph keeps the tag history.
    let graph = s.repo_graph(repo.id).await.unwrap();
    assert_eq!(graph.tags["latest"], digest(2));
    assert_eq!(graph.tag_history.len(), 4);

    // A referrer, filtered by its artifact type (its config's media type).
    let mut sbom = image(3, &config, Some(&digest(2)));
    sbom.kind = ArtifactKind::Other;
    s.put_manifest(repo.id, sbom, &[], false)
        .await
        .unwrap()
        .unwrap();
    let refs = s.referrers(repo.id, &digest(2), None).await.unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        refs[0].artifact_type.as_deref(),
        Some("application/vnd.example.sbom")
    );
    assert_eq!(
        s.referrers(repo.id, &digest(2), Some("application/vnd.example.sbom"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s
        .referrers(repo.id, &digest(2), Some("other"))
        .await
        .unwrap()
        .is_empty());

    // Listings: catalog, existing artifacts, pages, tag lists.
    let empty = s.ensure_repo(org.id, "Empty").await.unwrap();
    let charts = s.ensure_repo(org.id, "charts/web").await.unwrap();
    s.link_blob(charts.id, &config, 10).await.unwrap();
    s.put_manifest(charts.id, image(4, &config, None), &["0.1"], false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.catalog(Some(org.id), None, 10).await.unwrap(),
        ["acme/charts/web", "acme/web"]
    );
    assert_eq!(
        s.catalog(None, Some("acme/charts/web"), 10).await.unwrap(),
        ["acme/web"]
    );
    assert_eq!(
        s.existing_artifacts(org.id, &["web", "Empty", "nope"])
            .await
            .unwrap(),
        ["web"]
    );
    let page = s
        .artifacts(
            org.id,
            &ArtifactQuery {
                limit: 1,
                ..ArtifactQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items[0].name, "charts/web");
    assert_eq!(page.next.as_deref(), Some("charts/web"));
    let only = s
        .artifacts(
            org.id,
            &ArtifactQuery {
                only: Some(vec!["web".into()]),
                search: "WE".into(),
                ..ArtifactQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only.items.len(), 1);
    assert_eq!(only.items[0].tag_count, 3);
    assert_eq!(only.items[0].description.as_deref(), Some("image 2"));
    let (summary, tags) = s.artifact_tags(org.id, "web").await.unwrap().unwrap();
    assert_eq!(summary.kind, ArtifactKind::ContainerImage);
    assert_eq!(tags.len(), 3);
    let lists = s
        .tag_lists(org.id, &["web".into(), "charts/web".into()])
        .await
        .unwrap();
    assert_eq!(lists.len(), 2);
    let names = s.artifact_names(org.id).await.unwrap();
    assert_eq!(names.len(), 3, "with the empty repository");
    assert_eq!(names[0], "Empty", "names sort byte-wise");
    let lists = s
        .tag_names(org.id, &["web".into(), "Empty".into(), "nothing".into()])
        .await
        .unwrap();
    let listed: Vec<(&str, usize)> = lists.iter().map(|(n, t)| (n.as_str(), t.len())).collect();
    assert_eq!(
        listed,
        [("Empty", 0), ("web", 3)],
        "an unknown name is left out"
    );
    assert!(s.tag_names(org.id, &[]).await.unwrap().is_empty());
    let _ = empty;

    // Deleting: a tagged manifest only when asked to; a tag.
    assert_eq!(
        s.delete_manifest(repo.id, &digest(1), true).await.unwrap(),
        DeleteManifest::Tagged
    );
    assert!(s.delete_tag(repo.id, "1.0").await.unwrap());
    assert!(!s.delete_tag(repo.id, "1.0").await.unwrap());
    assert_eq!(
        s.delete_manifest(repo.id, &digest(1), true).await.unwrap(),
        DeleteManifest::Deleted
    );
    assert_eq!(
        s.delete_manifest(repo.id, &digest(1), true).await.unwrap(),
        DeleteManifest::NotFound
    );
    assert!(s.unlink_blob(charts.id, &config).await.unwrap());
    assert_eq!(s.repo_blob(charts.id, &config).await.unwrap(), None);
    s.set_immutable_tags(org.id, true).await.unwrap();
    assert_eq!(
        s.org_id_by_slug("acme").await.unwrap(),
        Some((org.id, true))
    );
}

pub(super) async fn tokens_are_revoked_with_their_children(s: Fixture) {
    let (_org, admin) = s.add_org("acme").await;
    let later = Utc::now() + Duration::days(1);
    let parent = s
        .create_token(admin.id, "ci", "hash-parent", Some(later))
        .await
        .unwrap();
    let child = s
        .create_child_token(parent.id, "child", "hash-child", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        child.expires_at.map(|t| t.timestamp()),
        Some(later.timestamp()),
        "capped at the parent's expiry"
    );
    let grandchild = s
        .create_child_token(child.id, "grandchild", "hash-grandchild", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.tokens(admin.id).await.unwrap().len(), 3);
    s.touch_tokens(&[(parent.id, Utc::now())]).await.unwrap();
    assert!(s
        .tokens(admin.id)
        .await
        .unwrap()
        .iter()
        .any(|t| t.last_used_at.is_some()));
    assert_eq!(
        s.revoke_token(admin.id, parent.id)
            .await
            .unwrap()
            .as_deref(),
        Some("hash-parent")
    );
    assert_eq!(s.revoke_token(admin.id, parent.id).await.unwrap(), None);
    assert!(
        s.token_by_hash("hash-grandchild")
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(
        s.token_by_hash("hash-grandchild")
            .await
            .unwrap()
            .unwrap()
            .id,
        grandchild.id
    );
    assert!(s.tokens(admin.id).await.unwrap().is_empty());
    assert!(s
        .create_child_token(parent.id, "x", "hash-x", None)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.user_id_by_email("admin@acme.test").await.unwrap(),
        Some(admin.id)
    );
    let last = s.changes_since(0, 10).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, crate::changes::ChangeKind::TokenRevoked);
}

/// Lookups and searches with a NUL character (which PostgreSQL cannot
/// take as text) find nothing, on every backend, rather than failing.
pub(super) async fn lookups_with_a_nul_character_find_nothing(s: Fixture) {
    let (org, _) = s.add_org("acme").await;
    let repo = s.ensure_repo(org.id, "web").await.unwrap();
    let nul = "we\0b";
    assert_eq!(s.user_id_by_email("admin@acme.test\0").await.unwrap(), None);
    assert_eq!(s.org_id_by_slug("ac\0me").await.unwrap(), None);
    assert_eq!(s.repo(org.id, nul).await.unwrap(), None);
    assert!(s.manifest_by_tag(repo.id, nul).await.unwrap().is_none());
    assert!(s.manifest_by_digest(repo.id, nul).await.unwrap().is_none());
    assert!(s.tags(repo.id, Some(nul), 10).await.unwrap().is_empty());
    assert!(s.catalog(None, Some(nul), 10).await.unwrap().is_empty());
    assert!(s
        .referrers(repo.id, nul, Some(nul))
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .existing_artifacts(org.id, &[nul])
        .await
        .unwrap()
        .is_empty());
    assert!(s.tag_lists(org.id, &[nul.into()]).await.unwrap().is_empty());
    assert!(s.artifact_tags(org.id, nul).await.unwrap().is_none());
    let q = ArtifactQuery {
        search: nul.into(),
        after: Some(nul.into()),
        only: Some(vec![nul.into()]),
        ..ArtifactQuery::default()
    };
    assert!(s.artifacts(org.id, &q).await.unwrap().items.is_empty());
    s.add_customer(org.id, "Globex").await;
    let q = CustomerQuery {
        search: "\0".into(),
        after: Some("\0".into()),
        ..CustomerQuery::default()
    };
    // (What it matches differs: SQLite's lower() stops at the NUL.)
    assert!(s.customers(org.id, &q).await.is_ok());
    let q = PullQuery {
        customer: None,
        artifact: Some(nul.into()),
        before: None,
        limit: 10,
    };
    assert!(s.pulls(org.id, &q).await.unwrap().is_empty());
}
