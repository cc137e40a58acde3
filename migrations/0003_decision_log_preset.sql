-- The preset a routed request asked for (or got from its pool's default_preset), next to the w it
-- resolved to in `preference`; NULL when the preference was a number. Lets analytics tell a
-- "balanced" request from an explicit w after the bundle's calibration changes.
ALTER TABLE decision_log ADD COLUMN preset TEXT;
