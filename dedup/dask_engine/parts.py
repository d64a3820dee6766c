"""Partitions as tables of numpy columns, and the all-to-all exchange that moves rows between them.

Every stage of the Dask engine is a list of futures, one per partition. Moving rows
between partitions (by id range, by LSH band key, by document owner, by graph node)
is always the same step: a task gives each row a destination (a ``dest`` column), and
:meth:`Job.exchange` delivers the rows to the output partitions. This is Dask's own
task-based shuffle, written for numpy columns so that neither pandas nor a per-record
Python object is needed. One stage costs a task per (input, output) pair; above
``max_fan`` such pairs it goes in two stages through about sqrt(n) groups, as Dask's
dataframe shuffle does, so that a cluster of thousands of partitions is not swamped
with tasks.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from dask.sizeof import sizeof as dask_sizeof
from distributed import Client, Future

Table = dict[str, np.ndarray]  # equal-length columns


def size_of(value: Any) -> int:
    """Bytes held by ``value``: arrays (object arrays by a sample of their items), containers and
    dataclasses of them. Dask asks every result its size (``sys.getsizeof``) to decide what to spill
    to disk and where to run the tasks that need it; a dataclass alone would say "56 bytes"."""
    if isinstance(value, np.ndarray):
        if value.dtype != object or value.size == 0:
            return value.nbytes
        sample = value.ravel()[:: max(1, value.size // 16)][:16]
        return value.nbytes + value.size * sum(size_of(x) for x in sample) // len(sample)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(size_of(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return 64 + sum(size_of(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        head = value[:16]
        return 64 + (len(value) * sum(size_of(v) for v in head) // len(head) if head else 0)
    return sys.getsizeof(value)


class Sized:
    """Mixin for the results that tasks keep on workers: their real size, for Dask's memory accounting."""

    def __sizeof__(self) -> int:
        return size_of(self)


@dask_sizeof.register(Sized)
def _sized(value: Sized) -> int:  # ahead of Dask's own rules for dicts, which count an object array as pointers
    return value.__sizeof__()


class Rows(Sized, dict):
    """A table kept as a task's result for several stages: Dask then knows what its object columns hold (it
    decides where tasks run, and what to spill, from the sizes)."""


@dataclass
class Part(Sized):
    """What one task of a stage returns: its rows and a few counts the client needs (never rows)."""

    rows: Table
    facts: dict[str, Any] = field(default_factory=dict)


def concat(pieces: Sequence[Table]) -> Table:
    """All rows of ``pieces`` (each piece has every column, possibly with zero rows)."""
    if len(pieces) == 1:
        return dict(pieces[0])
    return {name: np.concatenate([p[name] for p in pieces]) for name in pieces[0]}


def take(table: Table, index: np.ndarray) -> Table:
    return {name: column[index] for name, column in table.items()}


def split(table: Table, dest: np.ndarray, n_out: int) -> list[Table]:
    """The rows of ``table`` in ``n_out`` pieces, piece j holding the rows with ``dest == j`` (order kept)."""
    if n_out <= 2**16:  # numpy sorts 16-bit integers by radix: ten times faster than int64
        dest = dest.astype(np.uint16)
    order = np.argsort(dest, kind="stable")
    bounds = np.searchsorted(dest[order], np.arange(n_out + 1))
    ordered = take(table, order)
    return [{name: column[bounds[j]:bounds[j + 1]] for name, column in ordered.items()} for j in range(n_out)]


def flat(table: Table, name: str, dtype, size: int = 0) -> np.ndarray:
    """Column ``name`` of one array per row, its arrays end to end (``size`` zeros if ``table`` lacks it)."""
    if name not in table:
        return np.zeros(size, dtype)
    return np.concatenate([np.empty(0, dtype)] + list(table[name])).astype(dtype, copy=False)


def objects(values: Sequence[Any]) -> np.ndarray:
    """A 1-d object array of ``values``, even when they are tuples or arrays of one length."""
    out = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):
        out[k] = value
    return out


def pair_code(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """One sortable int64 per pair of document numbers (both below 2**31): dedupe and sort pairs at once."""
    return left.astype(np.int64) << 32 | right.astype(np.int64)


def _word(n: int) -> str:
    """A word naming output ``n`` in a task key: letters only, never read as a hex token."""
    letters = ""
    while True:
        n, r = divmod(n, 26)
        letters = chr(ord("a") + r) + letters
        if n == 0:
            return "to" + letters


def _constant(value: Any) -> Any:
    return value


def facts_of(part: Part) -> dict[str, Any]:
    return part.facts


def rows_of(part: Part) -> Table:
    return part.rows


def routed(table: Table, dest: np.ndarray) -> Table:
    """``table`` with the output partition of each row, for :meth:`Job.exchange`."""
    return {**table, "dest": np.asarray(dest, np.int64)}


def split_routed(x: Part | Table, n_out: int, first: int = 0, width: int = 1, final: bool = True) -> list[Table]:
    """Rows by ``(dest - first) // width``; the final split drops ``dest`` (no need to send it on)."""
    table = x.rows if isinstance(x, Part) else x
    dest = (table["dest"] - first) // width
    return split({k: v for k, v in table.items() if k != "dest"} if final else table, dest, n_out)


def regroup(pieces: Sequence[Table], first: int, n_out: int) -> list[Table]:
    return split_routed(concat(pieces), n_out, first)


class Job:
    """One run on a Dask client. Task keys carry a token of their own, so that two runs on one
    cluster never share results, and a stage name, so that the dashboard tells stages apart."""

    def __init__(self, client: Client, max_fan: int = 1024) -> None:
        self.client = client
        self.max_fan = max_fan
        self.token = uuid.uuid4().hex[:10]
        self.stages: set[str] = set()

    def map(self, stage: str, fn: Callable, *iterables: Sequence, **constants: Any) -> list[Future]:
        """``fn(a_i, b_i, ..., **constants)`` for each i, submitted in one message (one task each).
        Array constants are sent to the cluster once, not once per task."""
        if stage in self.stages:  # the same keys would return the other stage's results
            raise RuntimeError(f"stage name {stage!r} used twice in one job")
        self.stages.add(stage)
        n = len(iterables[0])
        if n == 0:
            return []
        for name, value in constants.items():
            if isinstance(value, np.ndarray) and n > 1:  # a task, not scatter(): a lost copy can be recomputed
                constants[name] = self.client.submit(_constant, value, key=f"dedup-{stage}-{self.token}-{name}")
        keys = [f"dedup-{stage}-{self.token}-{i}" for i in range(n)]
        return self.client.map(fn, *iterables, key=keys, **constants)

    def _pick(self, stage: str, splits: Sequence[Future], n_out: int) -> list[list[Future]]:
        """``pieces[j]``: piece j of every split, in split order.

        The picks for each output form a task group of their own (named by a word, since Dask
        groups keys by their words). One group of all picks would look "root-ish" to Dask when
        there are few splits, and Dask places such tasks without regard to where their input
        is: every pick would then fetch a whole split to keep one piece of it.
        """
        if stage in self.stages:
            raise RuntimeError(f"stage name {stage!r} used twice in one job")
        self.stages.add(stage)
        if not splits:
            return [[] for _ in range(n_out)]
        keys = [f"dedup-{stage}-{_word(j)}-{self.token}-{i}" for j in range(n_out) for i in range(len(splits))]
        flat = self.client.map(operator.getitem, [s for _ in range(n_out) for s in splits],
                               [j for j in range(n_out) for _ in splits], key=keys)
        return [flat[j * len(splits):(j + 1) * len(splits)] for j in range(n_out)]

    def exchange(self, stage: str, routed_parts: Sequence[Future], n_out: int) -> list[list[Future]]:
        """``pieces[j]``: the rows of ``routed_parts`` whose ``dest`` is j, as a list of tables."""
        n_in = len(routed_parts)
        if n_in * n_out <= self.max_fan:
            return self._pick(f"{stage}-pick", self.map(f"{stage}-split", split_routed, routed_parts, n_out=n_out),
                              n_out)
        width = math.ceil(math.sqrt(n_out))  # outputs per group
        groups = math.ceil(n_out / width)
        per_group = self._pick(f"{stage}-pick1", self.map(f"{stage}-split1", split_routed, routed_parts,
                                                           n_out=groups, width=width, final=False), groups)
        chunks = [range(c, min(c + width, n_in)) for c in range(0, n_in, width)]
        mids = self.map(f"{stage}-regroup", regroup, [[per_group[g][i] for i in chunk] for g in range(groups)
                                                      for chunk in chunks],
                        [g * width for g in range(groups) for _ in chunks], n_out=width)
        picked = self._pick(f"{stage}-pick2", mids, width)
        return [[picked[j % width][(j // width) * len(chunks) + c] for c in range(len(chunks))]
                for j in range(n_out)]

    def facts(self, stage: str, parts: Sequence[Future], wait: bool = True) -> Any:
        """The facts of each part, gathered to the client (small by construction); without ``wait``,
        futures to gather at the end, so that the run does not stop for figures it needs only then."""
        found = self.map(stage, facts_of, parts)
        return self.client.gather(found) if wait else found


def one_thread() -> None:
    """Dask runs one task per worker thread: numba's own threads inside a task would oversubscribe the
    cores, so each task hashes with one (the setting is per calling thread)."""
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)
