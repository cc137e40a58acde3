"""Makes the pipeline package importable (``import trainer``) and pins torch to one thread."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "model-assets"))

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the pipeline's tests need torch; setup.mjs installs it
    pass
