-- D1 schema of the router (see docs/d1-schema.md for what each table is for).
-- Configuration tables are read-mostly (cached a few seconds per isolate); decision_log is
-- append-only and written after the response (ctx.waitUntil or a Queue consumer).

-- A customer. `default_pool` names the pool that `model: "router"` routes over.
CREATE TABLE tenants (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  default_pool  TEXT,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Bearer keys, stored only as sha256 hex of the key text; a revoked key stays for audit.
CREATE TABLE api_keys (
  key_hash    TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  label       TEXT,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  revoked_at  TEXT
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

-- Callable models. tenant_id NULL = global (visible to every tenant); a tenant row with the same
-- name shadows the global one. `secret_name` names the worker secret holding the upstream key
-- (never the key itself). `bundle_model` is the canonical model name in a bundle manifest
-- (name or alias), used to find the model's trained identity.
CREATE TABLE models (
  id                      TEXT PRIMARY KEY,
  tenant_id               TEXT REFERENCES tenants(id),
  name                    TEXT NOT NULL,
  provider                TEXT NOT NULL CHECK (provider IN ('openai', 'anthropic', 'workers-ai')),
  upstream_model          TEXT NOT NULL,
  base_url                TEXT,
  secret_name             TEXT,
  input_usd_per_mtok      REAL NOT NULL CHECK (input_usd_per_mtok >= 0),
  output_usd_per_mtok     REAL NOT NULL CHECK (output_usd_per_mtok >= 0),
  expected_output_tokens  INTEGER NOT NULL DEFAULT 512 CHECK (expected_output_tokens > 0),
  bundle_model            TEXT,
  created_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- SQLite treats NULLs as distinct in UNIQUE, so global names get their own index.
CREATE UNIQUE INDEX models_tenant_name ON models(tenant_id, name) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX models_global_name ON models(name) WHERE tenant_id IS NULL;

-- Identity vectors per model and bundle version, from onboarding (quiz), manual entry, or copied
-- from training. Takes precedence over the manifest's models[] entry. JSON arrays of floats.
CREATE TABLE model_identities (
  model_id        TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  bundle_version  TEXT NOT NULL,
  vector          TEXT NOT NULL,
  std             TEXT,
  source          TEXT NOT NULL CHECK (source IN ('training', 'quiz', 'manual')),
  n_items         INTEGER,
  updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (model_id, bundle_version)
);

-- A named candidate set routed over with one bundle. `embedding_provider` overrides the bundle's
-- (e.g. 'precomputed' only); NULL = the bundle's own. default_preference in [0, 1].
CREATE TABLE pools (
  id                  TEXT PRIMARY KEY,
  tenant_id           TEXT NOT NULL REFERENCES tenants(id),
  name                TEXT NOT NULL,
  bundle_version      TEXT NOT NULL,
  embedding_provider  TEXT CHECK (embedding_provider IN ('local', 'workers-ai', 'precomputed')),
  default_preference  REAL NOT NULL DEFAULT 0.5 CHECK (default_preference BETWEEN 0 AND 1),
  created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (tenant_id, name)
);

CREATE TABLE pool_members (
  pool_id   TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
  model_id  TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  PRIMARY KEY (pool_id, model_id)
);

-- Traffic split of one pool. arms: JSON array of
-- {"name": "control", "weight": 0.5, "bundle_version"?: "...", "pool"?: "<pool name>"};
-- an arm without bundle_version/pool uses the experiment pool's own. At most one active
-- experiment per pool is used (the newest).
CREATE TABLE experiments (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  pool_id     TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  arms        TEXT NOT NULL,
  active      INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX experiments_pool ON experiments(pool_id, active);

-- One row per routed request. candidates/probs: JSON arrays aligned by index (candidate names and
-- policy probabilities); attempts: JSON array of upstream tries ({target,status,ok,reason,ms}).
-- status: 'ok' | 'upstream_error' | 'route_only' | ...
CREATE TABLE decision_log (
  id                 TEXT PRIMARY KEY,
  tenant_id          TEXT NOT NULL,
  pool               TEXT,
  arm                TEXT,
  bundle_version     TEXT,
  model              TEXT NOT NULL,
  preference         REAL,
  candidates         TEXT,
  probs              TEXT,
  expected_cost_usd  REAL,
  predicted_quality  REAL,
  routing_ms         REAL,
  attempts           TEXT,
  status             TEXT NOT NULL,
  created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX decision_log_tenant_time ON decision_log(tenant_id, created_at);
