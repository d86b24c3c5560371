//! [`RegistryStore`]. A list of names is one parameter: the backend's
//! `list` makes it and its `in_list` tests against it (SQLite: JSON text
//! read with `json_each`; PostgreSQL: an array and `= ANY`).

use super::access::{note_repository, note_tagged};
use super::{text, Db, SqlStore};
use crate::changes::ChangeKind;
use crate::paging::{contains_pattern, ArtifactQuery, Page};
use crate::registry::{
    ArtifactSummary, ManifestRef, NewManifest, Referrer, StoredManifest, TagInfo, TokenInfo,
};
use crate::store::registry::{
    DeleteManifest, PutManifestError, RegistryStore, Repo, RepoId, TokenRecord,
};
use crate::store::{StoreError, StoreResult};
use crate::{OrgId, TokenId, UserId};
use chrono::{DateTime, Utc};

use crate::store::rows::*;

const SUMMARY_SELECT: &str = "SELECT r.name, r.kind, \
       (SELECT COUNT(*) FROM tags t WHERE t.repository_id = r.id) AS tag_count, \
       (SELECT MAX(m.created_at) FROM manifests m WHERE m.repository_id = r.id) AS last_push, \
       (SELECT m.annotations FROM tags t JOIN manifests m ON m.id = t.manifest_id \
         WHERE t.repository_id = r.id ORDER BY t.pushed_at DESC, t.name DESC LIMIT 1) AS annotations \
     FROM repositories r \
     WHERE r.org_id = $1 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)";

#[async_trait::async_trait]
impl RegistryStore for SqlStore {
    async fn org_id_by_slug(&self, slug: &str) -> StoreResult<Option<(OrgId, bool)>> {
        Ok(
            sqlx::query_as("SELECT id, immutable_tags FROM orgs WHERE slug = $1")
                .bind(text(slug))
                .fetch_optional(self.pool())
                .await?,
        )
    }

    async fn repo(&self, org_id: OrgId, name: &str) -> StoreResult<Option<Repo>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM repositories WHERE org_id = $1 AND name = $2")
                .bind(org_id)
                .bind(text(name))
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(id, name)| Repo { id, org_id, name }))
    }

    async fn ensure_repo(&self, org_id: OrgId, name: &str) -> StoreResult<Repo> {
        if let Some(repo) = self.repo(org_id, name).await? {
            return Ok(repo);
        }
        {
            let _turn = self.write_turn().await;
            sqlx::query("INSERT INTO repositories (org_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (org_id, name) DO NOTHING")
                .bind(org_id)
                .bind(name)
                .bind(Utc::now())
                .execute(self.pool())
                .await?;
        }
        self.repo(org_id, name).await?.ok_or(StoreError::NotFound)
    }

    async fn repo_blob(&self, repo: RepoId, digest: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest \
             WHERE rb.repository_id = $1 AND rb.digest = $2",
        )
        .bind(repo)
        .bind(digest)
        .fetch_optional(self.pool())
        .await?)
    }

    async fn blob_size(&self, digest: &str) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT size FROM blobs WHERE digest = $1")
                .bind(digest)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    async fn link_blob(&self, repo: RepoId, digest: &str, size: i64) -> StoreResult<()> {
        // The backend's own (SQLite sends both statements in one call).
        SqlStore::link_blob(self, repo, digest, size).await
    }

    async fn unlink_blob(&self, repo: RepoId, digest: &str) -> StoreResult<bool> {
        let r =
            sqlx::query("DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2")
                .bind(repo)
                .bind(digest)
                .execute(self.pool())
                .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn manifest_by_tag(
        &self,
        repo: RepoId,
        tag: &str,
    ) -> StoreResult<Option<StoredManifest>> {
        self.fetch_manifest(
            "SELECT m.digest, m.media_type, m.content FROM tags t JOIN manifests m ON m.id = t.manifest_id \
             WHERE t.repository_id = $1 AND t.name = $2",
            repo,
            tag,
        )
        .await
    }

    async fn manifest_by_digest(
        &self,
        repo: RepoId,
        digest: &str,
    ) -> StoreResult<Option<StoredManifest>> {
        self.fetch_manifest(
            "SELECT digest, media_type, content FROM manifests WHERE repository_id = $1 AND digest = $2",
            repo,
            digest,
        )
        .await
    }

    async fn put_manifest(
        &self,
        repo: RepoId,
        m: NewManifest,
        tags: &[&str],
        immutable_tags: bool,
    ) -> StoreResult<Result<(), PutManifestError>> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        // One manifest write per repository at a time: the existence
        // checks, the immutable-tag check and the writes are one step.
        SqlStore::lock_repo(&mut tx, repo).await?;
        for r in &m.refs {
            let (sql, digest) = match r {
                // Its blob lives outside the registry: nothing to check.
                ManifestRef::NonDistributableLayer(_) => continue,
                ManifestRef::Config(d) | ManifestRef::Layer(d) => (
                    "SELECT EXISTS (SELECT 1 FROM repository_blobs WHERE repository_id = $1 AND digest = $2)",
                    d,
                ),
                ManifestRef::Manifest(d) => (
                    "SELECT EXISTS (SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2)",
                    d,
                ),
            };
            // The manifest itself may list its own digest nowhere; a child equal
            // to the manifest being pushed cannot exist yet.
            let exists: bool = sqlx::query_scalar(sql)
                .bind(repo)
                .bind(digest)
                .fetch_one(&mut *tx)
                .await?;
            if !exists {
                return Ok(Err(PutManifestError::Missing(digest.clone())));
            }
        }
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM manifests WHERE repository_id = $1 AND digest = $2")
                .bind(repo)
                .bind(&m.digest)
                .fetch_optional(&mut *tx)
                .await?;
        let manifest_id = match existing {
            Some(id) => id,
            None => {
                let platforms = (!m.platforms.is_empty())
                    .then(|| serde_json::to_string(&m.platforms).unwrap_or_default());
                let annotations = serde_json::from_slice::<serde_json::Value>(&m.content)
                    .ok()
                    .and_then(|v| v.get("annotations").cloned())
                    .map(|a| a.to_string());
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, size, content, subject_digest, platforms, annotations, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(repo)
                .bind(&m.digest)
                .bind(&m.media_type)
                .bind(&m.artifact_type)
                .bind(m.content.len() as i64)
                .bind(&m.content)
                .bind(&m.subject)
                .bind(platforms)
                .bind(annotations)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                for r in &m.refs {
                    let (kind, d) = match r {
                        ManifestRef::Config(d) => ("config", d),
                        ManifestRef::Layer(d) | ManifestRef::NonDistributableLayer(d) => {
                            ("layer", d)
                        }
                        ManifestRef::Manifest(d) => ("manifest", d),
                    };
                    sqlx::query("INSERT INTO manifest_refs (manifest_id, digest, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(id)
                        .bind(d)
                        .bind(kind)
                        .execute(&mut *tx)
                        .await?;
                }
                // A referrer (manifest with a subject) does not decide the kind.
                if m.subject.is_none() {
                    sqlx::query("UPDATE repositories SET kind = $1 WHERE id = $2 AND (kind = 'other' OR $3 <> 'other')")
                        .bind(m.kind.as_str())
                        .bind(repo)
                        .bind(m.kind.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                id
            }
        };
        let mut tagged = Vec::new();
        for &tag in tags {
            let current: Option<(i64, String)> = sqlx::query_as(
                "SELECT t.manifest_id, m.digest FROM tags t JOIN manifests m ON m.id = t.manifest_id WHERE t.repository_id = $1 AND t.name = $2",
            )
            .bind(repo)
            .bind(tag)
            .fetch_optional(&mut *tx)
            .await?;
            match current {
                Some((id, _)) if id == manifest_id => {}
                Some(_) if immutable_tags => {
                    return Ok(Err(PutManifestError::TagImmutable(tag.to_owned())));
                }
                previous => {
                    if previous.is_some() {
                        sqlx::query("UPDATE tag_history SET moved_at = $1 WHERE repository_id = $2 AND tag = $3 AND moved_at IS NULL")
                            .bind(now)
                            .bind(repo)
                            .bind(tag)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query(
                        "INSERT INTO tags (repository_id, name, manifest_id, pushed_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (repository_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, pushed_at = excluded.pushed_at",
                    )
                    .bind(repo)
                    .bind(tag)
                    .bind(manifest_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("INSERT INTO tag_history (repository_id, tag, digest, pushed_at) VALUES ($1, $2, $3, $4)")
                        .bind(repo)
                        .bind(tag)
                        .bind(&m.digest)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tagged.push(tag);
                }
            }
        }
        // Portals of the customers a new tag concerns update (live).
        let mut changes = Vec::new();
        if !tagged.is_empty() {
            let (org_id, artifact): (OrgId, String) =
                sqlx::query_as("SELECT org_id, name FROM repositories WHERE id = $1")
                    .bind(repo)
                    .fetch_one(&mut *tx)
                    .await?;
            for tag in tagged {
                changes.push(note_tagged(&mut tx, org_id, &artifact, tag).await?);
            }
        } else {
            // No tag moved (a push by digest: a child, a referrer): other
            // instances' registry caches still evict the repository.
            changes.push(note_repository(&mut tx, repo).await?);
        }
        tx.commit().await?;
        self.published(changes).await;
        Ok(Ok(()))
    }

    async fn delete_manifest(
        &self,
        repo: RepoId,
        digest: &str,
        keep_tagged: bool,
    ) -> StoreResult<DeleteManifest> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        SqlStore::lock_repo(&mut tx, repo).await?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM manifests WHERE repository_id = $1 AND digest = $2")
                .bind(repo)
                .bind(digest)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(id) = id else {
            return Ok(DeleteManifest::NotFound);
        };
        if keep_tagged {
            let tagged: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tags WHERE manifest_id = $1)")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            if tagged {
                return Ok(DeleteManifest::Tagged);
            }
        }
        sqlx::query(
            "UPDATE tag_history SET moved_at = $1 WHERE repository_id = $2 AND digest = $3 AND moved_at IS NULL",
        )
        .bind(now)
        .bind(repo)
        .bind(digest)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM manifests WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let change = note_repository(&mut tx, repo).await?;
        tx.commit().await?;
        self.published(vec![change]).await;
        Ok(DeleteManifest::Deleted)
    }

    async fn delete_tag(&self, repo: RepoId, tag: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM tags WHERE repository_id = $1 AND name = $2")
            .bind(repo)
            .bind(tag)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE tag_history SET moved_at = $1 WHERE repository_id = $2 AND tag = $3 AND moved_at IS NULL")
            .bind(Utc::now())
            .bind(repo)
            .bind(tag)
            .execute(&mut *tx)
            .await?;
        let deleted = r.rows_affected() > 0;
        let change = match deleted {
            true => Some(note_repository(&mut tx, repo).await?),
            false => None,
        };
        tx.commit().await?;
        self.published(change.into_iter().collect()).await;
        Ok(deleted)
    }

    async fn tags(&self, repo: RepoId, last: Option<&str>, n: i64) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM tags WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3",
        )
        .bind(repo)
        .bind(text(last.unwrap_or("")))
        .bind(n)
        .fetch_all(self.pool())
        .await?)
    }

    async fn catalog(
        &self,
        org: Option<OrgId>,
        last: Option<&str>,
        n: i64,
    ) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT o.slug || '/' || r.name AS full_name FROM repositories r JOIN orgs o ON o.id = r.org_id \
             WHERE ($1 IS NULL OR r.org_id = $2) AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id) \
             AND (o.slug || '/' || r.name) > $3 ORDER BY full_name LIMIT $4",
        )
        .bind(org)
        .bind(org)
        .bind(text(last.unwrap_or("")))
        .bind(n)
        .fetch_all(self.pool())
        .await?)
    }

    async fn existing_artifacts(&self, org: OrgId, names: &[&str]) -> StoreResult<Vec<String>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<(String,)> = self
            .artifact_rows(
                "SELECT r.name FROM repositories r",
                "AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id) ORDER BY r.name",
                org,
                names,
            )
            .await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    async fn referrers(
        &self,
        repo: RepoId,
        subject: &str,
        artifact_type: Option<&str>,
    ) -> StoreResult<Vec<Referrer>> {
        // A referrer's artifact type is its manifest's `artifactType`, else
        // (for an image manifest) its config's media type; an index has
        // none. Computed here so that manifests stored before this rule
        // answer the same.
        // (The config's media type is read here rather than in SQL: a
        // stored manifest is JSON, but this way no row can fail a cast.)
        let want = artifact_type;
        // (Compared in Rust: a NUL in `want` needs no care.)
        type Row = (
            String,
            String,
            Option<String>,
            i64,
            Option<String>,
            Option<Vec<u8>>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT digest, media_type, artifact_type, size, annotations, \
               CASE WHEN media_type IN ($3, $4) AND COALESCE(artifact_type, '') = '' \
                 THEN content END \
             FROM manifests WHERE repository_id = $1 AND subject_digest = $2 \
             ORDER BY created_at, digest",
        )
        .bind(repo)
        .bind(text(subject))
        .bind(IMAGE_MANIFEST_TYPES[0])
        .bind(IMAGE_MANIFEST_TYPES[1])
        .fetch_all(self.pool())
        .await?;
        let rows = rows.into_iter().filter_map(
            |(digest, media_type, stored_type, size, annotations, content)| {
                let artifact_type = stored_type.filter(|t| !t.is_empty()).or_else(|| {
                    serde_json::from_slice::<serde_json::Value>(content.as_deref()?)
                        .ok()?
                        .pointer("/config/mediaType")?
                        .as_str()
                        .map(str::to_owned)
                });
                (want.is_none() || artifact_type.as_deref() == want).then_some((
                    digest,
                    media_type,
                    artifact_type,
                    size,
                    annotations,
                ))
            },
        );
        Ok(rows
            .into_iter()
            .map(
                |(digest, media_type, artifact_type, size, annotations)| Referrer {
                    digest,
                    media_type,
                    artifact_type,
                    size,
                    annotations: annotations.and_then(|a| serde_json::from_str(&a).ok()),
                },
            )
            .collect())
    }

    async fn artifacts(
        &self,
        org: OrgId,
        query: &ArtifactQuery,
    ) -> StoreResult<Page<ArtifactSummary>> {
        // Keyset on the (org_id, name) index: a page reads its own rows only.
        // `$4`: every name, else only those of `$5`.
        let only = query.only.as_deref();
        let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
            "{SUMMARY_SELECT} AND lower(r.name) LIKE $2 ESCAPE '\\' AND ($3 IS NULL OR r.name > $3) \
             AND ($4 OR {}) ORDER BY r.name LIMIT $6",
            SqlStore::in_list("r.name", "$5")
        ))
        .bind(org)
        .bind(text(&contains_pattern(&query.search)).into_owned())
        .bind(query.after.as_deref().map(text))
        .bind(only.is_none())
        .bind(SqlStore::list(only.unwrap_or_default())?)
        .bind(query.limit.saturating_add(1))
        .fetch_all(self.pool())
        .await?;
        let rows = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<StoreResult<Vec<ArtifactSummary>>>()?;
        Ok(Page::from_rows(rows, query.limit, |a| a.name.clone()))
    }

    async fn artifact_tags(
        &self,
        org: OrgId,
        name: &str,
    ) -> StoreResult<Option<(ArtifactSummary, Vec<TagInfo>)>> {
        let row: Option<SummaryRow> = sqlx::query_as(&format!("{SUMMARY_SELECT} AND r.name = $2"))
            .bind(org)
            .bind(text(name))
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let tags = self
            .tag_lists(org, &[name.to_owned()])
            .await?
            .pop()
            .map(|(_, tags)| tags)
            .unwrap_or_default();
        Ok(Some((row.try_into()?, tags)))
    }

    async fn tag_lists(
        &self,
        org: OrgId,
        names: &[String],
    ) -> StoreResult<Vec<(String, Vec<TagInfo>)>> {
        let rows: Vec<TagRow> = self
            .artifact_rows(
                "SELECT r.name AS artifact, t.name AS tag, m.digest, m.size, m.media_type, m.platforms, \
                        t.pushed_at, m.content, m.annotations \
                 FROM repositories r JOIN tags t ON t.repository_id = r.id JOIN manifests m ON m.id = t.manifest_id",
                NEWEST_TAG_FIRST,
                org,
                names,
            )
            .await?;
        Ok(by_artifact(
            rows.into_iter()
                .map(|row| (row.artifact.clone(), Some(row.into()))),
        ))
    }

    async fn artifact_names(&self, org: OrgId) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM repositories WHERE org_id = $1 ORDER BY name")
                .bind(org)
                .fetch_all(self.pool())
                .await?,
        )
    }

    async fn tag_names(
        &self,
        org: OrgId,
        names: &[String],
    ) -> StoreResult<Vec<(String, Vec<String>)>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<(String, Option<String>)> = self
            .artifact_rows(
                "SELECT r.name, t.name FROM repositories r LEFT JOIN tags t ON t.repository_id = r.id",
                NEWEST_TAG_FIRST,
                org,
                names,
            )
            .await?;
        Ok(by_artifact(rows))
    }

    async fn set_immutable_tags(&self, org: OrgId, immutable: bool) -> StoreResult<()> {
        sqlx::query("UPDATE orgs SET immutable_tags = $1 WHERE id = $2")
            .bind(immutable)
            .bind(org)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn create_token(
        &self,
        user: UserId,
        label: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<TokenInfo> {
        let row: TokenRow = sqlx::query_as(
            "INSERT INTO access_tokens (user_id, label, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, label, created_at, expires_at, last_used_at",
        )
        .bind(user)
        .bind(label)
        .bind(token_hash)
        .bind(Utc::now())
        .bind(expires_at)
        .fetch_one(self.pool())
        .await?;
        Ok(row.into())
    }

    async fn create_child_token(
        &self,
        parent: TokenId,
        label: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<TokenInfo>> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let row: Option<(UserId, Option<DateTime<Utc>>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT user_id, expires_at, revoked_at FROM access_tokens WHERE id = $1",
        )
        .bind(parent)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user, parent_expiry, None)) = row else {
            return Ok(None);
        };
        if parent_expiry.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        let expires_at = match (expires_at, parent_expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let row: TokenRow = sqlx::query_as(
            "INSERT INTO access_tokens (user_id, label, token_hash, created_at, expires_at, parent_id) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, label, created_at, expires_at, last_used_at",
        )
        .bind(user)
        .bind(label)
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .bind(parent)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(row.into()))
    }

    async fn tokens(&self, user: UserId) -> StoreResult<Vec<TokenInfo>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, label, created_at, expires_at, last_used_at FROM access_tokens \
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_token(&self, user: UserId, token_id: TokenId) -> StoreResult<Option<String>> {
        let mut tx = self.begin_write().await?;
        let hash: Option<(String, OrgId)> = sqlx::query_as(
            "UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL \
             RETURNING token_hash, (SELECT org_id FROM users WHERE id = access_tokens.user_id)",
        )
        .bind(Utc::now())
        .bind(token_id)
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((hash, org_id)) = hash else {
            return Ok(None);
        };
        // The tokens made with it, at any depth, die with it.
        sqlx::query(
            "WITH RECURSIVE made(id) AS ( \
                 SELECT id FROM access_tokens WHERE parent_id = $1 \
                 UNION SELECT t.id FROM access_tokens t JOIN made ON t.parent_id = made.id) \
             UPDATE access_tokens SET revoked_at = $2 \
             WHERE id IN (SELECT id FROM made) AND revoked_at IS NULL",
        )
        .bind(token_id)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
        self.commit_change(tx, org_id, (None, Some(user)), ChangeKind::TokenRevoked)
            .await?;
        Ok(Some(hash))
    }

    async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        let row: Option<(
            TokenId,
            UserId,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        )> = sqlx::query_as(
            "SELECT id, user_id, expires_at, revoked_at FROM access_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(
            row.map(|(id, user_id, expires_at, revoked_at)| TokenRecord {
                id,
                user_id,
                expires_at,
                revoked: revoked_at.is_some(),
            }),
        )
    }

    async fn touch_tokens(&self, uses: &[(TokenId, DateTime<Utc>)]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for (id, at) in uses {
            sqlx::query("UPDATE access_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn user_id_by_email(&self, email: &str) -> StoreResult<Option<UserId>> {
        Ok(sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(text(email))
            .fetch_optional(self.pool())
            .await?)
    }
}

impl SqlStore {
    /// The rows `select` (of repositories `r` and what it joins) reads for
    /// the org's artifacts `names`; `then` follows the condition (more of
    /// it, the order).
    async fn artifact_rows<R>(
        &self,
        select: &str,
        then: &str,
        org: OrgId,
        names: &[impl AsRef<str> + Sync],
    ) -> StoreResult<Vec<R>>
    where
        R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    {
        Ok(sqlx::query_as(&format!(
            "{select} WHERE r.org_id = $1 AND {} {then}",
            SqlStore::in_list("r.name", "$2")
        ))
        .bind(org)
        .bind(SqlStore::list(names)?)
        .fetch_all(self.pool())
        .await?)
    }

    /// Runs a (repository, key) query selecting digest, media type, content.
    async fn fetch_manifest(
        &self,
        sql: &str,
        repo: RepoId,
        key: &str,
    ) -> StoreResult<Option<StoredManifest>> {
        let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(sql)
            .bind(repo)
            .bind(text(key))
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(digest, media_type, content)| StoredManifest {
            digest,
            media_type,
            content,
        }))
    }
}

/// The order [`by_artifact`] groups: by artifact, each one's newest tag first.
const NEWEST_TAG_FIRST: &str = "ORDER BY r.name, t.pushed_at DESC, t.name DESC";

/// Rows ordered by artifact, grouped: one entry per artifact, in order,
/// with its items (an artifact whose only row has none gets an empty list).
fn by_artifact<T>(rows: impl IntoIterator<Item = (String, Option<T>)>) -> Vec<(String, Vec<T>)> {
    let mut out: Vec<(String, Vec<T>)> = Vec::new();
    for (artifact, item) in rows {
        if out.last().is_none_or(|(name, _)| *name != artifact) {
            out.push((artifact, Vec::new()));
        }
        if let (Some(item), Some((_, items))) = (item, out.last_mut()) {
            items.push(item);
        }
    }
    out
}
