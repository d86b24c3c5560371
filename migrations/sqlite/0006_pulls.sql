-- The pull log (SPEC §6): one row per manifest GET by a customer user,
-- written in batches off the request path. No foreign key to customers or
-- users: the log outlives them, so the user's email and the customer's name
-- at the time of the pull are copied in.
CREATE TABLE pulls (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    customer_id   INTEGER NOT NULL,
    customer_name TEXT NOT NULL,             -- as it was at the pull
    -- 1 once the customer is deleted: customer ids can be reused by SQLite
    -- (the highest id, once deleted, is handed out again), and a new customer
    -- must not inherit a deleted one's pulls.
    customer_gone INTEGER NOT NULL DEFAULT 0,
    user_id       INTEGER NOT NULL,
    user_email    TEXT NOT NULL,
    repository    TEXT NOT NULL,             -- artifact name, without the org slug
    tag           TEXT,                      -- NULL when pulled by digest
    digest        TEXT NOT NULL,
    at            TEXT NOT NULL,
    address       TEXT NOT NULL              -- the client's IP address
);

-- Newest first (by id: rows are inserted in the order the pulls happened).
CREATE INDEX pulls_by_org ON pulls (org_id, id);
CREATE INDEX pulls_by_customer ON pulls (org_id, customer_id, id);
CREATE INDEX pulls_by_artifact ON pulls (org_id, repository, id);

CREATE TRIGGER pulls_customer_deleted AFTER DELETE ON customers
BEGIN
    UPDATE pulls SET customer_gone = 1
    WHERE org_id = OLD.org_id AND customer_id = OLD.id;
END;
