"""The Workers AI REST client against a loopback fake that speaks the API's wire format."""
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from trainer.embed.workers_ai import MAX_BATCH, WorkersAIError, workers_ai_embeddings

ACCOUNT, TOKEN, MODEL = "acc-123", "tok-xyz", "@cf/baai/bge-base-en-v1.5"
DIM = 768


def fake_vector(text: str) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    v = np.random.default_rng(seed).standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


class FakeWorkersAI(BaseHTTPRequestHandler):
    """POST /client/v4/accounts/{id}/ai/run/{model}; fails the first ``fail_first`` calls with
    the statuses in ``failures``."""

    calls: list = []
    failures: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _reply(self, status: int, payload: dict, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if type(self).failures:
            status = type(self).failures.pop(0)
            return self._reply(status, {"success": False, "errors": [{"code": status, "message": "busy"}],
                                        "messages": [], "result": None}, {"Retry-After": "0"})
        if self.path != f"/client/v4/accounts/{ACCOUNT}/ai/run/{MODEL}":
            return self._reply(404, {"success": False, "errors": [{"code": 7000, "message": "No route"}]})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._reply(401, {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]})
        texts = body.get("text")
        if not isinstance(texts, list) or not 0 < len(texts) <= MAX_BATCH or any(not t for t in texts):
            return self._reply(400, {"success": False, "errors": [{"code": 5006, "message": "bad text"}]})
        data = [fake_vector(t) for t in texts]
        self._reply(200, {"result": {"shape": [len(texts), DIM], "data": data},
                          "success": True, "errors": [], "messages": []})


@pytest.fixture()
def server():
    FakeWorkersAI.calls, FakeWorkersAI.failures = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeWorkersAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/client/v4"
    httpd.shutdown()


def test_batches_caches_and_keeps_order(server, tmp_path):
    texts = [f"prompt number {i}" for i in range(230)] + ["prompt number 3", ""]
    vecs = workers_ai_embeddings(texts, ACCOUNT, TOKEN, base_url=server, cache_dir=tmp_path)
    assert vecs.shape == (len(texts), DIM) and vecs.dtype == np.float32
    assert np.allclose(vecs[5], fake_vector("prompt number 5"))
    assert np.array_equal(vecs[3], vecs[230])  # duplicate text: one request, same vector
    assert np.allclose(vecs[-1], fake_vector(" "))  # empty prompt sent as a space
    sizes = [len(c["body"]["text"]) for c in FakeWorkersAI.calls]
    assert sizes == [100, 100, 31] and all(c["auth"] == f"Bearer {TOKEN}" for c in FakeWorkersAI.calls)
    # Second run: all cached, no request at all.
    FakeWorkersAI.calls.clear()
    again = workers_ai_embeddings(texts, ACCOUNT, TOKEN, base_url=server, cache_dir=tmp_path)
    assert np.array_equal(again, vecs) and FakeWorkersAI.calls == []


def test_retries_429_and_5xx(server, tmp_path):
    FakeWorkersAI.failures = [429, 503]
    vecs = workers_ai_embeddings(["a", "b"], ACCOUNT, TOKEN, base_url=server, cache_dir=tmp_path, backoff_s=0.01)
    assert vecs.shape == (2, DIM) and len(FakeWorkersAI.calls) == 3


def test_gives_up_after_retries(server, tmp_path):
    FakeWorkersAI.failures = [500] * 10
    with pytest.raises(WorkersAIError, match="HTTP 500"):
        workers_ai_embeddings(["a"], ACCOUNT, TOKEN, base_url=server, cache_dir=tmp_path, max_retries=2, backoff_s=0.01)
    assert len(FakeWorkersAI.calls) == 3


def test_auth_error_is_not_retried(server, tmp_path):
    with pytest.raises(WorkersAIError, match="HTTP 401.*Authentication"):
        workers_ai_embeddings(["a"], ACCOUNT, "wrong", base_url=server, cache_dir=tmp_path, backoff_s=0.01)
    assert len(FakeWorkersAI.calls) == 1


def test_needs_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with pytest.raises(WorkersAIError, match="account id"):
        workers_ai_embeddings(["a"], cache_dir=tmp_path)
