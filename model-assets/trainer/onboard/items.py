"""The item bank: per-prompt IRT item parameters under a frozen head, and its JSON form.

A bank holds ids and numbers only. Prompt text (and reference answers) of an operator's bank live
in R2 beside it (``banks/<bundle>/<name>.json``), never in the repository for third-party data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .prior import Prior

BANK_FORMAT = 1


@dataclass
class ItemBank:
    """Item ids with discrimination vectors ``a`` [J, d] and difficulties ``c`` [J].

    ``prompts`` and ``references`` are optional and only set for banks that are uploaded to R2
    (operator data); ``bank.json`` in a bundle never carries them. ``prior`` is the population of
    models that answered the bank (:mod:`.prior`); a quiz on the bank starts from it, else from the
    bundle's ``irt.prior``.

    Example:
        >>> bank = ItemBank(ids=["q1", "q2"], a=np.eye(2), c=np.zeros(2))
        >>> bank.dim
        2
    """

    ids: list[str]
    a: np.ndarray
    c: np.ndarray
    bundle_version: str = ""
    name: str = ""
    prompts: list[str] | None = None
    references: list[str | None] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    prior: Prior | None = None

    def __post_init__(self) -> None:
        self.a = np.asarray(self.a, dtype=np.float64)
        self.c = np.asarray(self.c, dtype=np.float64).reshape(-1)
        if self.a.ndim != 2 or self.a.shape[0] != len(self.ids) or self.c.shape[0] != len(self.ids):
            raise ValueError(f"bank shapes disagree: {len(self.ids)} ids, a {self.a.shape}, c {self.c.shape}")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("bank item ids must be unique")
        if not (np.isfinite(self.a).all() and np.isfinite(self.c).all()):
            raise ValueError("bank item parameters must be finite")
        if self.prior is not None and self.prior.dim != self.a.shape[1]:
            raise ValueError(f"bank prior has dimension {self.prior.dim}, the items {self.a.shape[1]}")

    @property
    def dim(self) -> int:
        """Identity dimension d."""
        return int(self.a.shape[1])

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, ids: list[str]) -> np.ndarray:
        """Row indices of ``ids``; raises KeyError naming the first unknown id."""
        pos = {k: i for i, k in enumerate(self.ids)}
        missing = [k for k in ids if k not in pos]
        if missing:
            raise KeyError(f"unknown bank item id: {missing[0]}")
        return np.array([pos[k] for k in ids], dtype=np.int64)

    def subset(self, rows: np.ndarray) -> "ItemBank":
        """A bank of the given rows (same bundle)."""
        rows = np.asarray(rows, dtype=np.int64)
        return ItemBank(
            ids=[self.ids[i] for i in rows],
            a=self.a[rows],
            c=self.c[rows],
            bundle_version=self.bundle_version,
            name=self.name,
            prompts=None if self.prompts is None else [self.prompts[i] for i in rows],
            references=None if self.references is None else [self.references[i] for i in rows],
            meta=dict(self.meta),
            prior=self.prior,
        )

    def to_json(self, *, with_text: bool = False, digits: int = 6) -> dict[str, Any]:
        """JSON form read by the worker (``worker/onboarding/bank.ts``).

        ``with_text`` adds ``prompt``/``reference`` per item (R2 upload of an operator bank only).
        """
        items: list[dict[str, Any]] = []
        for i, item_id in enumerate(self.ids):
            item: dict[str, Any] = {
                "id": item_id,
                "a": [round(float(x), digits) for x in self.a[i]],
                "c": round(float(self.c[i]), digits),
            }
            if with_text and self.prompts is not None:
                item["prompt"] = self.prompts[i]
            if with_text and self.references is not None and self.references[i] is not None:
                item["reference"] = self.references[i]
            items.append(item)
        return {
            "format": BANK_FORMAT,
            "name": self.name,
            "bundle_version": self.bundle_version,
            "identity_dim": self.dim,
            "meta": self.meta,
            **({"prior": self.prior.to_json(digits)} if self.prior is not None else {}),
            "items": items,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "ItemBank":
        """Inverse of :meth:`to_json`."""
        if obj.get("format") != BANK_FORMAT:
            raise ValueError(f"unsupported bank format {obj.get('format')!r}")
        items = obj["items"]
        has_text = any("prompt" in it for it in items)
        return cls(
            ids=[str(it["id"]) for it in items],
            a=np.array([it["a"] for it in items], dtype=np.float64).reshape(len(items), int(obj["identity_dim"])),
            c=np.array([it["c"] for it in items], dtype=np.float64),
            bundle_version=str(obj.get("bundle_version", "")),
            name=str(obj.get("name", "")),
            prompts=[str(it.get("prompt", "")) for it in items] if has_text else None,
            references=[it.get("reference") for it in items] if has_text else None,
            meta=dict(obj.get("meta", {})),
            prior=Prior.from_json(obj["prior"]) if obj.get("prior") is not None else None,   # null: none, as in bank.ts
        )

    def save(self, path: Path, *, with_text: bool = False) -> None:
        """Writes :meth:`to_json` to ``path`` (compact)."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_json(with_text=with_text), separators=(",", ":")))

    @classmethod
    def load(cls, path: Path) -> "ItemBank":
        """Reads a bank written by :meth:`save`."""
        return cls.from_json(json.loads(Path(path).read_text()))
