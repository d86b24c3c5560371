-- Blob upload sessions (as SQLite's 0011): in the database, so that a
-- chunked upload may PATCH on one instance and PUT on another, and
-- survives a restart. `parts` lists the upload's chunk objects in order,
-- comma-separated; a write changes a session only if it still has the
-- parts it read (optimistic: two requests on one upload cannot both append).
CREATE TABLE upload_sessions (
    id            TEXT COLLATE "C" PRIMARY KEY,
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    name          TEXT COLLATE "C" NOT NULL,
    size          BIGINT NOT NULL,
    parts         TEXT COLLATE "C" NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    touched_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX upload_sessions_touched ON upload_sessions (touched_at);
