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
