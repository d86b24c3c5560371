-- One-time set-password links: a vendor adds a customer user without a
-- password and sends the user a link. Only the sha256 of the link's random
-- secret is stored. A link works once (used_at) and until expires_at.

CREATE TABLE password_links (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX password_links_user ON password_links(user_id);
