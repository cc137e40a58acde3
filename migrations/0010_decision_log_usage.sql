-- What an answer actually used and cost, next to what the router expected (issue 23, "Real usage and
-- cost"). Written with the decision row once the answer has ended (a stream: after its last chunk).
-- NULL: not known (a route-only decision, an upstream that reported no usage, a stream cut before
-- its usage chunk, rows written before this migration).
--   prompt_tokens, completion_tokens: the upstream's own usage report (OpenAI `usage`, Anthropic's
--     message events), never an estimate;
--   cost_usd: prompt_tokens x the served model's input price + completion_tokens x its output price
--     (USD per million tokens, as configured on the model row at decision time), / 1e6;
--   ttfb_ms: from sending the upstream request to the answer's first byte (the attempt that answered);
--   upstream_ms: from sending it to the answer's end.
ALTER TABLE decision_log ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE decision_log ADD COLUMN completion_tokens INTEGER;
ALTER TABLE decision_log ADD COLUMN cost_usd REAL;
ALTER TABLE decision_log ADD COLUMN ttfb_ms REAL;
ALTER TABLE decision_log ADD COLUMN upstream_ms REAL;
-- Analytics by pool and time (experiment reports, savings).
CREATE INDEX decision_log_tenant_pool_time ON decision_log(tenant_id, pool, created_at);
