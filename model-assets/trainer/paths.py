"""Where the pipeline reads data and writes caches, builds and bundles.

Data is read at run time from ``../shared/data`` beside the project (override with
``ROUTER_DATA``); nothing from it is committed. Caches and fp32 builds are git-ignored.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_ROOT = PROJECT_ROOT / "model-assets"
DATA_ROOT = Path(os.environ.get("ROUTER_DATA", PROJECT_ROOT.parent / "shared" / "data"))
CACHE_DIR = Path(os.environ.get("ROUTER_CACHE", ASSETS_ROOT / ".cache"))
BUILD_DIR = ASSETS_ROOT / "build"
BUNDLES_DIR = ASSETS_ROOT / "bundles"
DEFAULT_FILE = BUNDLES_DIR / "DEFAULT"
