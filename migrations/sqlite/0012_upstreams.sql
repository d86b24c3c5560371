-- Upstream mirroring (issue 14, SPEC §6): an artifact copied from a registry
-- the vendor already runs. Portable SQL (the PostgreSQL port changes only
-- the id column and the placeholders). Times that are compared in SQL
-- (the schedule and the lease) are integers (Unix seconds); the ones shown
-- are timestamps.
CREATE TABLE upstreams (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id           INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    artifact         TEXT NOT NULL,          -- artifact name, without the org slug
    url              TEXT NOT NULL,          -- https://host[:port] (http:// when allowed)
    repository       TEXT NOT NULL,          -- the repository on the upstream
    username         TEXT,
    secret           TEXT,                   -- the password/token, encrypted (never plain)
    tags             TEXT NOT NULL,          -- JSON: "all" or ["1.0", ...]
    interval_minutes INTEGER NOT NULL DEFAULT 60,
    mirror_deletions INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL DEFAULT 'idle'
                     CHECK (state IN ('idle', 'syncing', 'failed')),
    last_synced_at   TEXT,                   -- last successful sync's end
    last_error       TEXT,                   -- words for a person, never a secret
    tags_synced      TEXT NOT NULL DEFAULT '[]',  -- JSON list, the last run's tags
    tags_total       INTEGER NOT NULL DEFAULT 0,  -- progress of the running sync
    tags_done        INTEGER NOT NULL DEFAULT 0,
    bytes_done       INTEGER NOT NULL DEFAULT 0,
    next_sync_at     INTEGER NOT NULL,       -- Unix seconds: when it is due
    lease_owner      TEXT,                   -- the instance running its sync
    lease_until      INTEGER,                -- Unix seconds; a lease past it is free
    created_at       TEXT NOT NULL,
    UNIQUE (org_id, artifact)
);

CREATE INDEX upstreams_due ON upstreams (next_sync_at);

-- Who changed an upstream, when, before and after (never the secret).
CREATE TABLE upstream_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    upstream_id   INTEGER NOT NULL,
    actor_user_id INTEGER,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,  -- created | updated | deleted | sync_requested
    before        TEXT,
    after         TEXT,
    at            TEXT NOT NULL
);

CREATE INDEX upstream_events_by_upstream ON upstream_events (org_id, upstream_id, id);
