"""Preference-conditioned SetTransformer routing policy (pairwise pretraining, then multi-objective PPO)."""
