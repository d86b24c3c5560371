-- As SQLite's 0014: an ended upload session stays as a tombstone
-- (`closed_at` set, no parts) until the sweeper takes it.
ALTER TABLE upload_sessions ADD COLUMN closed_at TIMESTAMPTZ;
