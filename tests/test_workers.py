"""Forked worker pools (dedup/workers.py)."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from dedup.workers import forked

WARMED: list[str] = []


def _warm() -> None:
    WARMED.append("tables")


def _seen_in_worker(_: int) -> tuple[int, list[str]]:
    return os.getpid(), list(WARMED)


def test_one_worker_runs_here_without_warming():
    WARMED.clear()
    with forked(1, _warm) as pool:
        assert pool is None
    assert WARMED == []


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_workers_are_other_processes_that_share_what_was_warmed():
    WARMED.clear()
    with forked(2, _warm) as pool:
        results = list(pool.map(_seen_in_worker, range(8)))
    assert WARMED == ["tables"]  # warmed once, here
    assert all(pid != os.getpid() for pid, _ in results)
    assert all(seen == ["tables"] for _, seen in results)  # inherited by the fork, not loaded again
