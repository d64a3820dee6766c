"""Forked worker processes for pure per-document work (anchors, word counts)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def forked(workers: int, warm: Callable[[], object]) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` forked processes, or None with one worker or where processes cannot be forked.

    ``warm`` runs here first, so that the workers share what it loads (word frequency
    tables, scikit-learn) instead of each loading it again, which costs seconds a process.
    """
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    warm()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool
