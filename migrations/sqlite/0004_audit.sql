-- The audit trail of customer and entitlement changes (issue 4): who, when,
-- what, and the state before and after as JSON. No foreign key to customers
-- or users: the history outlives what it describes.
CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    customer_id   INTEGER NOT NULL,
    actor_user_id INTEGER,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    before        TEXT,
    after         TEXT,
    at            TEXT NOT NULL
);

CREATE INDEX audit_events_by_customer ON audit_events (org_id, customer_id, id);
