-- The change feed (issue 5): every write that changes what a customer may
-- see, or who may sign in, appends a row in its own transaction. Each
-- server publishes its own writes at once and polls this table for the
-- writes of other processes (the admin CLI, other instances).
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL,
    customer_id INTEGER,
    user_id     INTEGER,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL
);

-- Each running server records how far it has applied the feed (and when it
-- last said so), so that a writer in another process (`admin set-plan`) can
-- wait until every live server applies its change before it returns.
CREATE TABLE change_readers (
    instance   TEXT PRIMARY KEY,
    applied_id INTEGER NOT NULL,
    seen_at    TEXT NOT NULL
);
