"""pytest hooks for benchmarks/bench_speed.py (loaded only when a benchmark file is run explicitly).

The JSON report names the exact dedup sources measured (a hash of dedup/*.py) and the
versions of the libraries compared, instead of pytest-benchmark's git query.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path

DEDUP = Path(__file__).resolve().parent.parent / "dedup"


def sources_digest() -> str:
    """sha256 over dedup/*.py (names and contents, sorted): which code a result belongs to."""
    h = hashlib.sha256()
    for path in sorted(DEDUP.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def pytest_benchmark_generate_commit_info(config):
    return {"dedup_sources_sha256": sources_digest(), "git": "not queried"}


def pytest_benchmark_update_machine_info(config, machine_info):
    import numba

    versions = {}
    for name in ("numpy", "numba", "datasketch", "rensa", "xxhash", "pytest-benchmark"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    machine_info["libraries"] = versions
    machine_info["numba_threading_layer_env"] = os.environ.get("NUMBA_THREADING_LAYER", "default")
    machine_info["numba_max_threads"] = numba.config.NUMBA_NUM_THREADS
    machine_info["cpu_count"] = os.cpu_count()
    machine_info["bench_set"] = os.environ.get("BENCH_SET", "quick")
