-- A pool's default may name a preset instead of a number. The preset is resolved per request by
-- the bundle that routes it (manifest policy.presets), so it follows a bundle upgrade and each A/B
-- arm's bundle; a number in default_preference would keep the w of the bundle it was taken from.
-- NULL = default_preference applies.
ALTER TABLE pools ADD COLUMN default_preset TEXT CHECK (default_preset IN ('cheap', 'balanced', 'quality'));
