-- Closing the loop (issue 23): feedback on answers, online identity learning from it, exploration
-- with logged propensities, and a pool's opt-in to keep prompt text for exporting its own traffic.

-- One feedback per (tenant, decision); a second POST for the same decision replaces the first
-- (score, thumbs, comment, updated_at; applied_at is reset so the new score is learnt from).
--   score: in [0, 1]; thumbs 'up' / 'down' is stored as score 1 / 0 with `thumbs` kept as given.
--   model: the model that produced the answer (the decision's served model, or the fallback that
--     answered), copied from the decision so the update never re-reads the attempts JSON.
--   applied_at: when an online update folded it into `online_identities`; NULL = pending (or the
--     pool has online learning switched off, or the row carries no item parameters).
CREATE TABLE feedback (
  tenant_id    TEXT NOT NULL,
  decision_id  TEXT NOT NULL,
  pool         TEXT,
  model        TEXT NOT NULL,
  score        REAL NOT NULL CHECK (score BETWEEN 0 AND 1),
  thumbs       TEXT CHECK (thumbs IS NULL OR thumbs IN ('up', 'down')),
  comment      TEXT,
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  applied_at   TEXT,
  PRIMARY KEY (tenant_id, decision_id)
);
CREATE INDEX feedback_pending ON feedback(applied_at, tenant_id);

-- What a decision needs for learning and offline evaluation, kept at decision time:
--   item_params: the prompt's IRT item parameters as read off irt.onnx for this decision (JSON
--     {"a": [...identity_dim floats], "c": float}), so feedback can update an identity without the
--     prompt text; NULL for direct and route-only requests and rows before this migration;
--   propensity: the probability with which the served model was chosen (1 when the top choice was
--     taken, the tempered policy probability when the pool explores); NULL for direct requests;
--   answered_by: the model whose answer reached the client (differs from `model` after a fallback);
--   prompt: the request's messages as JSON, only when the pool has `keep_prompts` = 1.
ALTER TABLE decision_log ADD COLUMN item_params TEXT;
ALTER TABLE decision_log ADD COLUMN propensity REAL;
ALTER TABLE decision_log ADD COLUMN answered_by TEXT;
ALTER TABLE decision_log ADD COLUMN prompt TEXT;

-- Per pool: learn identities online from feedback (1, default) or not (0); explore by sampling the
-- served model from the policy's probabilities at this temperature (NULL = off: the top choice);
-- keep prompt text in the decision log for `npm run export-logs` (0 = never, the default).
ALTER TABLE pools ADD COLUMN online_learning INTEGER NOT NULL DEFAULT 1 CHECK (online_learning IN (0, 1));
ALTER TABLE pools ADD COLUMN exploration_temperature REAL
  CHECK (exploration_temperature IS NULL OR exploration_temperature BETWEEN 0.05 AND 10);
ALTER TABLE pools ADD COLUMN keep_prompts INTEGER NOT NULL DEFAULT 0 CHECK (keep_prompts IN (0, 1));

-- A tenant's online posterior of one model's identity under one bundle version: the identity the
-- decision core routes this tenant's pools with, over `model_identities` and the manifest. Keyed by
-- tenant so that one tenant's feedback never moves another tenant's routing, even for a global
-- model. Deleting the row rolls the model back to its quiz or training identity.
--   vector: posterior mean (JSON floats); cov_factor: the posterior covariance as in
--   model_identities (JSON vectors v_i, cov = sum v_i v_i^T); std: marginal stds (JSON);
--   n_feedback: feedback events folded in; base_source: where the first update started from
--   ('training', 'quiz', 'manual' or 'manifest').
CREATE TABLE online_identities (
  tenant_id       TEXT NOT NULL,
  model_id        TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  bundle_version  TEXT NOT NULL,
  vector          TEXT NOT NULL,
  cov_factor      TEXT NOT NULL,
  std             TEXT NOT NULL,
  n_feedback      INTEGER NOT NULL DEFAULT 0,
  base_source     TEXT NOT NULL CHECK (base_source IN ('training', 'quiz', 'manual', 'manifest')),
  updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (tenant_id, model_id, bundle_version)
);

-- An experiment that was stopped keeps its rows and report; stopped_at says when (active = 0).
ALTER TABLE experiments ADD COLUMN stopped_at TEXT;
CREATE INDEX decision_log_tenant_arm ON decision_log(tenant_id, pool, arm);
