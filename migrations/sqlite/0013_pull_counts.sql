-- The pull log folds identical pulls (same user, artifact, tag, digest and
-- address) within the same second into one row: `count` says how many
-- pulls a row stands for. Rows written before stand for one each.
ALTER TABLE pulls ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
