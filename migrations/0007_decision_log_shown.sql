-- Which candidates the policy was shown (JSON booleans aligned with `candidates`, like `probs`).
-- A bundle that prunes dominated candidates (manifest policy.candidates = "non-dominated") gives the
-- others probability 0 and ranks them after the shown ones by the price rule; without this column an
-- analyst could not tell "pruned" from "shown and given 0". NULL for unrouted (direct) requests, for
-- rows written before this column existed, and for entries queued by code older than it.
ALTER TABLE decision_log ADD COLUMN shown TEXT;
