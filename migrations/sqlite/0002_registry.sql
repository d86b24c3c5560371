-- The registry: repositories (artifacts), blobs and their links, manifests,
-- their references, tags and tag history; access tokens.

ALTER TABLE orgs ADD COLUMN immutable_tags INTEGER NOT NULL DEFAULT 0;

CREATE TABLE repositories (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,             -- artifact name, without the org slug
    kind       TEXT NOT NULL DEFAULT 'other'
               CHECK (kind IN ('container-image', 'helm-chart', 'other')),
    created_at TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- Content-addressed blobs (shared storage).
CREATE TABLE blobs (
    digest     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

-- Which blobs a repository may serve (uploaded or mounted into it).
CREATE TABLE repository_blobs (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT NOT NULL REFERENCES blobs(digest),
    PRIMARY KEY (repository_id, digest)
);

CREATE TABLE manifests (
    id             INTEGER PRIMARY KEY,
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest         TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    artifact_type  TEXT,
    size           INTEGER NOT NULL,
    content        BLOB NOT NULL,
    subject_digest TEXT,
    platforms      TEXT,                  -- JSON array of "os/arch[/variant]", for indexes
    annotations    TEXT,                  -- JSON object
    created_at     TEXT NOT NULL,
    UNIQUE (repository_id, digest)
);
CREATE INDEX manifests_subject ON manifests(repository_id, subject_digest);

-- manifest -> config / layer blobs and index -> child manifests.
CREATE TABLE manifest_refs (
    manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    digest      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('config', 'layer', 'manifest')),
    PRIMARY KEY (manifest_id, kind, digest)
);
CREATE INDEX manifest_refs_digest ON manifest_refs(digest);

CREATE TABLE tags (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    manifest_id   INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    pushed_at     TEXT NOT NULL,
    PRIMARY KEY (repository_id, name)
);

-- Every tag assignment; moved_at is set when the tag moves away or is deleted.
CREATE TABLE tag_history (
    id            INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    tag           TEXT NOT NULL,
    digest        TEXT NOT NULL,
    pushed_at     TEXT NOT NULL,
    moved_at      TEXT
);
CREATE INDEX tag_history_repo ON tag_history(repository_id, tag);

CREATE TABLE access_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,   -- hex sha256 of the secret
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX access_tokens_user ON access_tokens(user_id);
