-- The management API (issue 24): operator-managed API keys and tenants, and what the savings
-- report needs from the decision log (docs/worker.md, "Management API").
--
-- API keys get a public id (the handle the operator API lists and revokes them by; the key_hash
-- stays the lookup) and the first characters of the key, kept at creation so a listing can say
-- which key is which ("sk-router-3fa9c1...") without the key. Keys made before this migration get an
-- id from their hash and no prefix.
ALTER TABLE api_keys ADD COLUMN id TEXT;
ALTER TABLE api_keys ADD COLUMN prefix TEXT;
UPDATE api_keys SET id = 'key_' || substr(key_hash, 1, 24) WHERE id IS NULL;
CREATE UNIQUE INDEX api_keys_id ON api_keys(id);

-- A disabled tenant's keys are refused (403 tenant_disabled) while its rows stay; the operator API
-- deletes a tenant only once it is disabled. NULL = active.
ALTER TABLE tenants ADD COLUMN disabled_at TEXT;

-- Every candidate's predicted quality (the IRT's P(success), as routed: quiz identities at their
-- pool's uncertainty penalty), a JSON array aligned with `candidates` like `probs`. With it the
-- savings report compares the routed model's predicted quality with the pool's best model's for
-- the same request. NULL for unrouted (direct, fallback) requests and rows written before this
-- migration.
ALTER TABLE decision_log ADD COLUMN predicted_qualities TEXT;
