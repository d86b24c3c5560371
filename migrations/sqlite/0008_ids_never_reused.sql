-- Ids that cookies, tokens, URLs, the audit trail and the pull log refer to
-- are never handed out again (issue 10): orgs, customers, users,
-- entitlements and access tokens get AUTOINCREMENT. SQLite cannot add it to
-- a table, so each is rebuilt keeping its rows, ids and references. This
-- runs with foreign key enforcement off (`SqliteStore::open` migrates on a
-- connection with `PRAGMA foreign_keys = OFF`, then runs
-- `PRAGMA foreign_key_check`), so dropping a table neither cascades nor
-- breaks the references of other tables, which name the table, not the
-- rebuilt copy.
--
-- Also: users get a `session_epoch` (a session holds the user's id and its
-- epoch; a role change or a new password bumps it, which ends the user's
-- sessions), access tokens a `parent_id` (a token created with a token dies
-- with it), and the session table a `user_id` whose foreign key deletes a
-- removed user's sessions in the same transaction.

DROP TRIGGER IF EXISTS pulls_customer_deleted;

CREATE TABLE new_orgs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    slug           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    plan           TEXT NOT NULL DEFAULT 'community'
                   CHECK (plan IN ('community', 'pro_trial', 'pro')),
    trial_ends_at  TEXT,
    created_at     TEXT NOT NULL,
    immutable_tags INTEGER NOT NULL DEFAULT 0
);
INSERT INTO new_orgs (id, slug, name, plan, trial_ends_at, created_at, immutable_tags)
    SELECT id, slug, name, plan, trial_ends_at, created_at, immutable_tags FROM orgs;
DROP TABLE orgs;
ALTER TABLE new_orgs RENAME TO orgs;

CREATE TABLE new_customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, name)
);
INSERT INTO new_customers (id, org_id, name, created_at)
    SELECT id, org_id, name, created_at FROM customers;
DROP TABLE customers;
ALTER TABLE new_customers RENAME TO customers;

CREATE TABLE new_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    customer_id   INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    -- Bumped when the user's role or password changes: sessions holding an
    -- older epoch are signed out.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    CHECK (
        (customer_id IS NULL AND role IN ('admin', 'read_write', 'read_only'))
        OR (customer_id IS NOT NULL AND role IN ('admin', 'member'))
    )
);
INSERT INTO new_users (id, org_id, customer_id, email, password_hash, role, created_at)
    SELECT id, org_id, customer_id, email, password_hash, role, created_at FROM users;
DROP TABLE users;
ALTER TABLE new_users RENAME TO users;
CREATE INDEX users_org ON users(org_id);
CREATE INDEX users_customer ON users(customer_id);

CREATE TABLE new_entitlements (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    expires_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (customer_id, name)
);
INSERT INTO new_entitlements (id, customer_id, name, expires_at, created_at, updated_at)
    SELECT id, customer_id, name, expires_at, created_at, updated_at FROM entitlements;
DROP TABLE entitlements;
ALTER TABLE new_entitlements RENAME TO entitlements;

CREATE TABLE new_access_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,   -- hex sha256 of the secret
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT,
    -- The token whose secret created this one (`Authorization: Bearer` on
    -- POST /api/v1/tokens): this one expires no later and is revoked with it.
    parent_id    INTEGER REFERENCES access_tokens(id) ON DELETE CASCADE
);
INSERT INTO new_access_tokens (id, user_id, label, token_hash, created_at, expires_at, last_used_at, revoked_at)
    SELECT id, user_id, label, token_hash, created_at, expires_at, last_used_at, revoked_at FROM access_tokens;
DROP TABLE access_tokens;
ALTER TABLE new_access_tokens RENAME TO access_tokens;
CREATE INDEX access_tokens_user ON access_tokens(user_id);
CREATE INDEX access_tokens_parent ON access_tokens(parent_id);

-- Rows of the pull log made before this migration may belong to a deleted
-- customer whose id a new one took; kept for them.
CREATE TRIGGER pulls_customer_deleted AFTER DELETE ON customers
BEGIN
    UPDATE pulls SET customer_gone = 1
    WHERE org_id = OLD.org_id AND customer_id = OLD.id;
END;

-- The next id is above every id ever referred to: the highest deleted id
-- may still be named by the pull log, the audit trail or the change feed.
INSERT INTO sqlite_sequence (name, seq)
    SELECT t, 0 FROM (SELECT 'orgs' AS t UNION ALL SELECT 'customers' UNION ALL SELECT 'users'
                      UNION ALL SELECT 'entitlements' UNION ALL SELECT 'access_tokens')
    WHERE t NOT IN (SELECT name FROM sqlite_sequence);
UPDATE sqlite_sequence SET seq = MAX(seq,
    (SELECT COALESCE(MAX(id), 0) FROM orgs),
    (SELECT COALESCE(MAX(org_id), 0) FROM changes))
    WHERE name = 'orgs';
UPDATE sqlite_sequence SET seq = MAX(seq,
    (SELECT COALESCE(MAX(id), 0) FROM customers),
    (SELECT COALESCE(MAX(customer_id), 0) FROM pulls),
    (SELECT COALESCE(MAX(customer_id), 0) FROM audit_events),
    (SELECT COALESCE(MAX(customer_id), 0) FROM changes))
    WHERE name = 'customers';
UPDATE sqlite_sequence SET seq = MAX(seq,
    (SELECT COALESCE(MAX(id), 0) FROM users),
    (SELECT COALESCE(MAX(user_id), 0) FROM pulls),
    (SELECT COALESCE(MAX(actor_user_id), 0) FROM audit_events),
    (SELECT COALESCE(MAX(user_id), 0) FROM changes))
    WHERE name = 'users';
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT COALESCE(MAX(id), 0) FROM entitlements))
    WHERE name = 'entitlements';
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT COALESCE(MAX(id), 0) FROM access_tokens))
    WHERE name = 'access_tokens';

-- The session table (tower-sessions' schema; `tower_sessions_sqlx_store`
-- creates it only if missing) with the user each session signs in. Earlier
-- sessions held a bare user id, which this release no longer trusts: they
-- are signed out.
CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
);
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
CREATE INDEX sessions_user ON sessions(user_id);
