"""One identity per model across datasets: the alias map and list prices.

Datasets spell the same model differently (RouteLLM's ``mistralai/Mixtral-8x7B-Instruct-v0.1`` is
MMLU-Pro's ``Mixtral-8x7B-Instruct-v0.1``; arena-hard's ``gpt-4-turbo`` judgments are
``gpt-4-1106-preview``). Every adapter maps names through :func:`canonical` so a model gets one
identity vector, except where a source graded models its own way (``IDENTITY_SCOPES``: RouteLLM's
sets train ``routellm/<name>`` identities). Aliases also go into the bundle manifest so a pool can
name a model either way.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

# canonical name -> other spellings (data sets, provider API names)
ALIASES: dict[str, list[str]] = {
    "Mixtral-8x7B-Instruct-v0.1": ["mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b-instruct"],
    "Mistral-7B-Instruct-v0.1": ["mistralai/Mistral-7B-Instruct-v0.1"],
    "Mistral-7B-Instruct-v0.2": ["mistralai/Mistral-7B-Instruct-v0.2"],
    "gpt-4-1106-preview": ["gpt4_1106_preview", "gpt-4-turbo-1106"],
    "gpt-4o_dir-gpt4o": ["gpt-4o-2024-05-13", "gpt-4o"],
    "gemini-3.1-pro_dir-merged": ["gemini-3.1-pro"],
    "deepseek_dir-deepseek": ["deepseek-chat"],
    "Llama-2-70b-chat": ["llama-2-70b-chat-hf", "meta-llama/Llama-2-70b-chat-hf"],
    "Meta-Llama-3_1-8B-Instruct": ["meta-llama/Meta-Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct"],
    "Meta-Llama-3_1-70B-Instruct": ["meta-llama/Meta-Llama-3.1-70B-Instruct", "llama-3.1-70b-instruct"],
    "gpt-4-0314": ["gpt4_0314"],
    "claude-3-haiku-20240307": ["claude-3-haiku"],
    "gemini-2.0-flash-001": ["gemini-2.0-flash"],
}

_TO_CANONICAL = {alias: name for name, aliases in ALIASES.items() for alias in aliases}

# Datasets whose outcomes train identities of their own, named "<scope>/<canonical name>". RouteLLM
# graded its two models with its own harness, and its MMLU marks Mixtral-8x7B-Instruct far above
# what MMLU-Pro's does relative to the other models: one shared identity over-predicted that model
# on mmlu-pro by 0.06 (0.475 predicted vs 0.412 on the test split) and cost mmlu-pro routing 4-6
# points of savings (model-assets/README.md, Diagnostics). The three RouteLLM sets still share one
# scope, as they share one harness. A pool names a model by its canonical name or an alias and gets
# the unscoped identity.
IDENTITY_SCOPES: dict[str, str] = {
    "routellm-mmlu": "routellm",
    "routellm-gsm8k": "routellm",
    "routellm-mt-bench": "routellm",
}

# Held out of IRT and policy training entirely; onboarded by quiz only (data README).
COLD_START_MODELS: list[str] = [
    "gemini-1.5-flash-002",
    "Meta-Llama-3_1-70B-Instruct",
    "Qwen1.5-72B-Chat",
    "mathstral-7B",
    "Phi-3-mini-4k-instruct",
]

# Output length (tokens) assumed for a model whose length is known nowhere in the data.
DEFAULT_OUTPUT_TOKENS = 256.0


def canonical(name: str) -> str:
    """The canonical model name for any known spelling (unknown names map to themselves).

    @example
        canonical("mistralai/Mixtral-8x7B-Instruct-v0.1")  # "Mixtral-8x7B-Instruct-v0.1"
    """
    return _TO_CANONICAL.get(name, name)


def scoped(dataset: str, name: str) -> str:
    """The identity name a dataset's outcomes for model ``name`` train (see ``IDENTITY_SCOPES``).

    @example
        scoped("routellm-mmlu", "Mixtral-8x7B-Instruct-v0.1")  # "routellm/Mixtral-8x7B-Instruct-v0.1"
        scoped("mmlu-pro", "Mixtral-8x7B-Instruct-v0.1")       # "Mixtral-8x7B-Instruct-v0.1"
    """
    scope = IDENTITY_SCOPES.get(dataset)
    return f"{scope}/{name}" if scope else name


def unscoped(name: str) -> str:
    """The canonical model name behind a scoped identity name.

    @example
        unscoped("routellm/gpt-4-1106-preview")  # "gpt-4-1106-preview"
    """
    scope, sep, rest = name.partition("/")
    return rest if sep and scope in IDENTITY_SCOPES.values() else name


def aliases_of(name: str) -> list[str]:
    """Other spellings of a canonical model name.

    @example
        aliases_of("gpt-4o_dir-gpt4o")  # ["gpt-4o-2024-05-13", "gpt-4o"]
    """
    return list(ALIASES.get(name, []))


def read_prices(path: Path) -> dict[str, tuple[float, float]]:
    """``model -> (input, output)`` USD per million tokens from a ``prices.csv`` (extra columns ignored).

    Raises ``ValueError`` naming file and line for a malformed row.

    @example
        prices = read_prices(DATA_ROOT / "prices.csv")
    """
    out: dict[str, tuple[float, float]] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:   # -sig: a spreadsheet's byte-order mark
        reader = csv.DictReader(f)
        need = {"model", "input_usd_per_mtok", "output_usd_per_mtok"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise ValueError(f"{path}:1: header must contain {sorted(need)}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                pin, pout = float(row["input_usd_per_mtok"]), float(row["output_usd_per_mtok"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{line}: prices must be numbers, got {row}") from None
            if not (np.isfinite(pin) and np.isfinite(pout)) or pin < 0 or pout < 0:
                raise ValueError(f"{path}:{line}: prices must be finite and >= 0, got {pin}, {pout}")
            if not row["model"]:
                raise ValueError(f"{path}:{line}: empty model name")
            if row["model"] in out:
                raise ValueError(f"{path}:{line}: duplicate row for model {row['model']!r}")
            out[row["model"]] = (pin, pout)
    return out


def price_matrix(models: list[str], prices: dict[str, tuple[float, float]], source: str) -> np.ndarray:
    """float32 ``[K, 2]`` prices for canonical ``models``, looking up aliases too.

    @example
        price_matrix(["Yi-6B"], read_prices(path), "prices.csv")  # [[0.2, 0.2]]
    """
    rows = []
    for m in models:
        for name in [m, *aliases_of(m)]:
            if name in prices:
                rows.append(prices[name])
                break
        else:
            raise ValueError(f"{source}: no price for model {m!r}")
    return np.array(rows, dtype=np.float32).reshape(len(models), 2)
