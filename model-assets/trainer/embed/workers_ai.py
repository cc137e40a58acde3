"""Prompt embeddings through the Workers AI REST API (for bundles in the Workers AI vector space).

``POST {base}/accounts/{account_id}/ai/run/{model}`` with ``Authorization: Bearer <token>`` and
``{"text": [...]}`` answers ``{"result": {"shape": [n, dim], "data": [[...], ...]}, "success": true,
"errors": [], "messages": []}``. Texts go in batches of at most 100; 429 and 5xx are retried with
exponential backoff (``Retry-After`` honoured); vectors are cached on disk by sha256 of the text,
like the teacher's, so a re-run only pays for new texts.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from ..paths import CACHE_DIR
from .teacher import text_key

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_MODEL = "@cf/baai/bge-base-en-v1.5"
MAX_BATCH = 100


class WorkersAIError(RuntimeError):
    """The API refused a request (a 4xx other than 429, ``success: false``, or retries ran out)."""


def _cache_dir(model: str) -> Path:
    return CACHE_DIR / "workers-ai" / model.strip("@").replace("/", "__")


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if path.exists():
        with path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                    out[row["key"]] = np.frombuffer(base64.b64decode(row["v"]), dtype="<f4")
                except (ValueError, KeyError):
                    continue  # torn last line
    return out


def _post(url: str, token: str, texts: list[str], timeout: float) -> dict:
    body = json.dumps({"text": texts}).encode("utf-8")
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
    })
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


def run_batch(texts: list[str], account_id: str, token: str, model: str = DEFAULT_MODEL,
              base_url: str = DEFAULT_BASE_URL, max_retries: int = 5, backoff_s: float = 1.0,
              timeout: float = 60.0) -> np.ndarray:
    """One API call (at most 100 texts) with retries; returns float32 ``[len(texts), dim]``.

    @example
        run_batch(["hi"], "acc", "tok", base_url="http://127.0.0.1:8787")   # [[0.01, ...]]
    """
    if not 0 < len(texts) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1..{MAX_BATCH} texts, got {len(texts)}")
    url = f"{base_url.rstrip('/')}/accounts/{account_id}/ai/run/{model}"
    for attempt in range(max_retries + 1):
        try:
            payload = _post(url, token, texts, timeout)
        except urllib.error.HTTPError as err:
            retryable = err.code == 429 or err.code >= 500
            detail = err.read().decode("utf-8", errors="replace")[:500]
            if not retryable or attempt == max_retries:
                raise WorkersAIError(f"Workers AI answered HTTP {err.code}: {detail}") from None
            wait = backoff_s * 2 ** attempt
            retry_after = err.headers.get("Retry-After") if err.headers else None
            if retry_after and retry_after.replace(".", "", 1).isdigit():
                wait = max(wait, float(retry_after))
            time.sleep(wait)
            continue
        except urllib.error.URLError as err:
            if attempt == max_retries:
                raise WorkersAIError(f"Workers AI unreachable at {url}: {err.reason}") from None
            time.sleep(backoff_s * 2 ** attempt)
            continue
        if not payload.get("success", False):
            raise WorkersAIError(f"Workers AI reported failure: {payload.get('errors')}")
        result = payload.get("result") or {}
        data = np.asarray(result.get("data"), dtype=np.float32)
        shape = result.get("shape")
        if data.ndim != 2 or data.shape[0] != len(texts) or (shape and list(shape) != list(data.shape)):
            raise WorkersAIError(f"unexpected result shape {shape} / {data.shape} for {len(texts)} texts")
        return data
    raise WorkersAIError("retries exhausted")  # unreachable: the loop returns or raises


def workers_ai_embeddings(texts: list[str], account_id: str | None = None, token: str | None = None,
                          model: str = DEFAULT_MODEL, base_url: str | None = None,
                          cache_dir: Path | None = None, batch: int = MAX_BATCH,
                          **retry: float) -> np.ndarray:
    """Embeds ``texts`` with a Workers AI embedding model: float32 ``[N, dim]`` (768 for bge-base).

    ``account_id`` / ``token`` / ``base_url`` default to ``CLOUDFLARE_ACCOUNT_ID`` /
    ``CLOUDFLARE_API_TOKEN`` / ``WORKERS_AI_BASE_URL`` (else the Cloudflare API). Cached texts are
    not sent again; progress goes to stderr.

    @example
        vecs = workers_ai_embeddings(prompts, "my-account", "my-token")
        vecs.shape[1]   # 768
    """
    account_id = account_id or os.environ.get("CLOUDFLARE_ACCOUNT_ID")
    token = token or os.environ.get("CLOUDFLARE_API_TOKEN")
    base_url = base_url or os.environ.get("WORKERS_AI_BASE_URL", DEFAULT_BASE_URL)
    if not account_id or not token:
        raise WorkersAIError("Workers AI needs an account id and an API token "
                             "(arguments or CLOUDFLARE_ACCOUNT_ID / CLOUDFLARE_API_TOKEN)")
    cdir = Path(cache_dir) if cache_dir else _cache_dir(model)
    cdir.mkdir(parents=True, exist_ok=True)
    cache_file = cdir / "vectors.jsonl"
    cached = _read_cache(cache_file)
    keys = [text_key(t) for t in texts]
    todo: dict[str, str] = {}
    for k, t in zip(keys, texts):
        if k not in cached:
            todo.setdefault(k, t)
    items = list(todo.items())
    size = max(1, min(batch, MAX_BATCH))
    for i in range(0, len(items), size):
        chunk = items[i:i + size]
        # The API rejects empty strings; a lone space stands for an empty prompt.
        vecs = run_batch([t if t.strip() else " " for _, t in chunk], account_id, token, model, base_url, **retry)
        with cache_file.open("a", encoding="utf-8") as f:
            for (k, _), v in zip(chunk, vecs):
                f.write(json.dumps({"key": k, "v": base64.b64encode(v.astype("<f4").tobytes()).decode()}) + "\n")
                cached[k] = v
        print(f"[workers-ai] {min(i + size, len(items))}/{len(items)} embedded", file=sys.stderr, flush=True)
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([cached[k] for k in keys]).astype(np.float32)
