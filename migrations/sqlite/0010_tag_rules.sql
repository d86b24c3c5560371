-- Rule-based entitlements (issue 15). A grant's `tags` column holds the API's
-- `tags` value when it is not "all": a JSON list of names, {"match": GLOB} or
-- {"semver": RANGE}; no change of shape is needed for it.
-- What an entitlement does when it expires: 'revoke' or 'keep_released'.
ALTER TABLE entitlements ADD COLUMN after_expiry TEXT NOT NULL DEFAULT 'revoke';
CREATE INDEX entitlements_expires ON entitlements(expires_at);

-- The change feed also says when a tag was pushed or moved (which artifact,
-- which tag), so that the portals it concerns update.
ALTER TABLE changes ADD COLUMN artifact TEXT;
ALTER TABLE changes ADD COLUMN tag TEXT;
