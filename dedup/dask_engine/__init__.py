"""The Dask engine: ``dedup find`` / ``repeats`` / ``stories`` on a cluster, byte-identical to the local engine.

Optional: the core installs without Dask, and this package imports it only when asked
(:func:`require` turns its absence into one line saying how to install it).

    >>> from dedup.dask_engine import connect, find_files
    >>> with connect() as client:                       # a LocalCluster, one process per core
    ...     stats = find_files(client, ["corpus.jsonl"], ReadParams(), Config(), "out/")

Modules: ``inputs`` (files -> blocks), ``order`` (global id order), ``matching`` (hashing,
LSH buckets, verification), ``components`` (clusters), ``output`` (files in id order),
``engine``, ``repeats`` and ``stories`` (the three commands), ``parts`` (partitions and the exchange).
"""

from __future__ import annotations

from typing import Any

from ..errors import DedupError

INSTALL = "pip install 'dedup[dask]'"


def require() -> None:
    """Raise one clear line when Dask (or what the engine reads inputs with) is not installed."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
        import fsspec  # noqa: F401
    except ImportError as e:
        raise DedupError(f"--engine dask needs Dask, which is not installed ({e.name or 'dask'} is missing): "
                         f"{INSTALL}") from None


def __getattr__(name: str) -> Any:
    """``connect``, ``find_files``, ``repeats_files``, ``stories_files``, ``Options``: imported on first use."""
    if name in ("connect", "find_files", "Options"):
        require()
        from . import engine

        return getattr(engine, name)
    if name == "repeats_files":
        require()
        from . import repeats

        return repeats.repeats_files
    if name == "stories_files":
        require()
        from . import stories

        return stories.stories_files
    raise AttributeError(name)
