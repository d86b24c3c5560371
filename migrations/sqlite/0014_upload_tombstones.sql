-- An upload session is stored from its first chunk (or when it ends), not
-- from its POST: a session with no chunk yet lives in its id (see
-- src/registry/upload_id.rs). An ended session stays as a tombstone
-- (`closed_at` set, no parts) until the sweeper takes it, so that its id
-- is unknown from then on on every instance.
ALTER TABLE upload_sessions ADD COLUMN closed_at TEXT;
