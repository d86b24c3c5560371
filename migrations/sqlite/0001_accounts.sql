-- Vendor organizations, their customers, and the users of both.

CREATE TABLE orgs (
    id            INTEGER PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    plan          TEXT NOT NULL DEFAULT 'community'
                  CHECK (plan IN ('community', 'pro_trial', 'pro')),
    trial_ends_at TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- Vendor users have customer_id NULL and a vendor role; customer users have
-- a customer and a customer role. An email identifies one user everywhere
-- (it is the registry user name).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    customer_id   INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    CHECK (
        (customer_id IS NULL AND role IN ('admin', 'read_write', 'read_only'))
        OR (customer_id IS NOT NULL AND role IN ('admin', 'member'))
    )
);
CREATE INDEX users_org ON users(org_id);
CREATE INDEX users_customer ON users(customer_id);
