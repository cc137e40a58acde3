"""Makes the pipeline package importable (``import trainer``), pins torch to one thread, and builds
the generated test bundle once per session."""
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "model-assets"))

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the pipeline's tests need torch; setup.mjs installs it
    pass

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated test bundle (real int8 graphs per the contract, fixed random weights), built
    once per session by ``test/fixtures/make_test_bundle.py``; tests must not write into it."""
    out = tmp_path_factory.mktemp("bundles")
    subprocess.run([sys.executable, str(ROOT / "test/fixtures/make_test_bundle.py"), str(out), "test-v1"], check=True,
                   capture_output=True)
    return out / "test-v1"
