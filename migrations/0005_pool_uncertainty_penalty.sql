-- How many posterior stds below its mean a pool routes a member whose identity is uncertain (a
-- quiz identity with a covariance factor): p = sigmoid(mean logit - k * std). NULL = the router's
-- default (UNCERTAINTY_PENALTY in worker/decision/decide.ts, 1); 0 routes quiz identities at their
-- mean. docs/onboarding.md, "Routing on a pessimistic estimate", has what each setting measured.
ALTER TABLE pools ADD COLUMN uncertainty_penalty REAL
  CHECK (uncertainty_penalty IS NULL OR (uncertainty_penalty >= 0 AND uncertainty_penalty <= 5));
