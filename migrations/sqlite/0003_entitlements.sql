-- Artifact entitlements: per customer, a name, an optional expiry and one or
-- more artifact grants (all tags, or a list of tag names).

CREATE TABLE entitlements (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    expires_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (customer_id, name)
);

CREATE TABLE entitlement_grants (
    entitlement_id INTEGER NOT NULL REFERENCES entitlements(id) ON DELETE CASCADE,
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    all_tags       INTEGER NOT NULL,
    tags           TEXT NOT NULL DEFAULT '[]',   -- JSON array of tag names
    PRIMARY KEY (entitlement_id, repository_id)
);
CREATE INDEX entitlement_grants_repo ON entitlement_grants(repository_id);
