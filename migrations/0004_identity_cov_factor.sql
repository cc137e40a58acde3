-- The posterior covariance of a fitted identity (a quiz's Laplace posterior), as JSON: vectors v_i
-- of the identity's length with covariance = sum_i v_i v_i^T (the columns of its Cholesky factor).
-- The decision core routes such a model on a success estimate one posterior std below its mean
-- (worker/decision/decide.ts, UNCERTAINTY_PENALTY). NULL (training identities, rows written before
-- this column): routed at the stored vector.
ALTER TABLE model_identities ADD COLUMN cov_factor TEXT;
