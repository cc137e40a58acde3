-- The uncertainty penalty a routed request was decided with (its pool's uncertainty_penalty, or the
-- router's default), next to predicted_quality, which it lowers for quiz identities. The pool setting
-- can change at any time, so analytics read it here. NULL for unrouted (direct) requests and for
-- rows written before this column existed.
ALTER TABLE decision_log ADD COLUMN uncertainty_penalty REAL;
