-- The replay's `decay` lever (model-assets/trainer/onboard/online.py, `decayed_penalty`): a model
-- learning online from a quiz identity is routed min(1, logit_std_now / logit_std_quiz) times its
-- pool's uncertainty penalty, with logit_std = sqrt(abar' S abar) over the bundle's default quiz
-- bank (abar: the mean of its items' discrimination vectors). Computed by the online update, which
-- has the bank at hand, so routing never reads a bank; NULL = no decay (no bank, or the model did
-- not start from a quiz identity).
ALTER TABLE online_identities ADD COLUMN penalty_scale REAL
  CHECK (penalty_scale IS NULL OR (penalty_scale >= 0 AND penalty_scale <= 1));
