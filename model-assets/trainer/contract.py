"""Constants the training pipeline shares with the worker, read from the one contract file both
sides load (``worker/bundle/contract.json``; the worker reads it in ``worker/bundle/contract.ts``).
"""
from __future__ import annotations

import json

from .paths import PROJECT_ROOT

CONTRACT_FILE = PROJECT_ROOT / "worker" / "bundle" / "contract.json"
_CONTRACT = json.loads(CONTRACT_FILE.read_text())

#: Posterior stds below the mean logit at which the worker routes an identity with a covariance
#: (a pool may set its own ``uncertainty_penalty``).
UNCERTAINTY_PENALTY: float = float(_CONTRACT["uncertainty_penalty"])
#: The largest penalty a pool accepts (also the CHECK of migrations/0005_pool_uncertainty_penalty.sql).
MAX_UNCERTAINTY_PENALTY: float = float(_CONTRACT["max_uncertainty_penalty"])
#: The per-candidate feature vocabulary a bundle's policy may list (docs/bundle-contract.md).
FEATURE_NAMES: tuple[str, ...] = tuple(_CONTRACT["candidate_features"])
#: The ONNX opset every graph of a bundle is written at (docs/bundle-contract.md, "All ONNX files").
OPSET = 17
