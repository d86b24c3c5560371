-- Indexes for the paged lists (issue 13): the Licenses page reads customers
-- by lower-cased name then name from its cursor on; an artifact's summary
-- reads its last push and its newest tag without reading every manifest and
-- tag of the repository.
CREATE INDEX customers_by_name ON customers (org_id, lower(name), name);
CREATE INDEX manifests_by_time ON manifests (repository_id, created_at);
CREATE INDEX tags_by_time ON tags (repository_id, pushed_at, name);
