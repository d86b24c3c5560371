-- Blob upload sessions (issue 12): in the database, so that a chunked
-- upload may PATCH on one instance and PUT on another, and survives a
-- restart. `parts` lists the upload's chunk objects in order
-- (`_uploads/<id>.<part>` in blob storage), comma-separated; a write
-- changes a session only if it still has the parts it read (optimistic:
-- two requests on one upload cannot both append).
CREATE TABLE upload_sessions (
    id            TEXT PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    size          INTEGER NOT NULL,
    parts         TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    touched_at    TEXT NOT NULL
);

CREATE INDEX upload_sessions_touched ON upload_sessions (touched_at);
