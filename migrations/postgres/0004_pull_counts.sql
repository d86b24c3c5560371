-- The pull log folds identical pulls (same user, artifact, tag, digest and
-- address) within the same second into one row: `count` says how many
-- pulls a row stands for (as in SQLite's 0013_pull_counts.sql).
ALTER TABLE pulls ADD COLUMN count BIGINT NOT NULL DEFAULT 1 CHECK (count >= 1);
