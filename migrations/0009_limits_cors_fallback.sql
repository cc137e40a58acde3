-- Rate limits, CORS and degraded routing (docs/worker.md: "Rate limits", "CORS", "Degraded mode").
--
-- Requests and tokens per minute a tenant, and each of its API keys, may use. NULL = no limit at
-- that level (a key without its own limit still counts against its tenant's). Enforced per isolate,
-- exactly (token buckets refilled continuously: a full minute's budget may be spent in a burst);
-- tokens are counted before the call as OpenAI does: prompt characters / 4 plus max_tokens (or
-- max_completion_tokens, else the largest expected output in the pool) times n, on
-- /v1/chat/completions only. Limits are read with the key (cached a few seconds per isolate).
ALTER TABLE tenants ADD COLUMN rpm_limit INTEGER CHECK (rpm_limit IS NULL OR rpm_limit > 0);
ALTER TABLE tenants ADD COLUMN tpm_limit INTEGER CHECK (tpm_limit IS NULL OR tpm_limit > 0);
ALTER TABLE api_keys ADD COLUMN rpm_limit INTEGER CHECK (rpm_limit IS NULL OR rpm_limit > 0);
ALTER TABLE api_keys ADD COLUMN tpm_limit INTEGER CHECK (tpm_limit IS NULL OR tpm_limit > 0);

-- Browser origins allowed to call the API with this tenant's keys: a JSON array of origins
-- ("https://app.example.com", scheme://host[:port], no path) or ["*"] for any. NULL = none: CORS off,
-- no Access-Control-* header on any answer.
ALTER TABLE tenants ADD COLUMN cors_origins TEXT CHECK (cors_origins IS NULL OR json_valid(cors_origins));

-- The model a pool's requests go to, unrouted, when no bundle can route them (the pool's bundle
-- version is missing, corrupt or fails in ONNX, and this isolate has no earlier good bundle for the
-- pool): a model name the tenant can call directly (its own, else a global one). NULL = answer 503.
ALTER TABLE pools ADD COLUMN fallback_model TEXT;

-- Why a request was served in a degraded mode ('bundle_unavailable': routed with the pool's last
-- good bundle, or sent to its fallback_model); NULL = served normally.
ALTER TABLE decision_log ADD COLUMN degraded TEXT;
