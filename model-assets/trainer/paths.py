"""Where the pipeline reads data and writes caches, builds and bundles.

Data is read at run time from ``../shared/data`` beside the project, or beside the clone's local
origin (override with ``ROUTER_DATA``); nothing from it is committed. Caches and fp32 builds are git-ignored.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_ROOT = PROJECT_ROOT / "model-assets"


def data_root(project_root: Path = PROJECT_ROOT, env: Mapping[str, str] = os.environ) -> Path:
    """Where the shared data is: ``ROUTER_DATA`` if set, else ``../shared/data`` beside the project,
    else the same beside the clone's local origin (a clone made elsewhere, as CI makes one), else
    the beside path (whose absence the readers report). The twin of ``dataRoot()`` in
    scripts/setup.mjs, so ``npm run eval`` finds what ``npm test`` finds.

    @example
        data_root(Path("/work/main"), {})   # Path("/work/shared/data")
    """
    if env.get("ROUTER_DATA"):
        return Path(env["ROUTER_DATA"])
    beside = project_root.parent / "shared" / "data"
    if beside.exists():
        return beside
    try:
        r = subprocess.run(["git", "-C", str(project_root), "config", "--get", "remote.origin.url"],
                           capture_output=True, text=True, timeout=10)
        origin = r.stdout.strip().removeprefix("file://")
    except (OSError, subprocess.SubprocessError):
        origin = ""
    there = Path(origin).parent / "shared" / "data" if origin and Path(origin).is_absolute() else None
    return there if there is not None and there.exists() else beside


DATA_ROOT = data_root()
CACHE_DIR = Path(os.environ.get("ROUTER_CACHE", ASSETS_ROOT / ".cache"))
BUILD_DIR = ASSETS_ROOT / "build"
BUNDLES_DIR = ASSETS_ROOT / "bundles"
DEFAULT_FILE = BUNDLES_DIR / "DEFAULT"


def default_bundle() -> Path | None:
    """The bundle named in ``model-assets/bundles/DEFAULT``, if it has a manifest (what the
    benchmarks and bank builds route with when given no ``--bundle``)."""
    if DEFAULT_FILE.exists():
        path = BUNDLES_DIR / DEFAULT_FILE.read_text().strip()
        if (path / "manifest.json").exists():
            return path
    return None


def default_bundle_dir() -> Path | None:
    """``bundles/<DEFAULT>`` if that file names a folder (the build reuses its embedder)."""
    if not DEFAULT_FILE.exists():
        return None
    folder = BUNDLES_DIR / DEFAULT_FILE.read_text().strip()
    return folder if folder.is_dir() else None
