"""``dedup repeats --engine dask``: repeats are found per document, so each block is one task; the
lines then go through the global id order (which also drops duplicate ids) to come out by id."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Sequence

import numpy as np
from distributed import Client

from ..document import Problem
from ..params import Config, ReadParams
from ..pipeline import find_repeats
from ..report import _line
from . import output
from .engine import OnProblem, Options, order_documents, read_blocks
from .inputs import Block, read_block
from .output import line_table
from .parts import Job, Sized, Table, objects, one_thread

# What each row of a block holds: a duplicate within the block (dropped), or its repeats.
DUPLICATE, NONE, LINES_ONLY, REPEATED = -1, 0, 1, 2


@dataclass
class RepeatBlock(Sized):
    """One block's documents after repeat detection: ids and where they were read, and output lines."""

    doc_ids: np.ndarray
    doc_wheres: np.ndarray
    problems: list[Problem]
    lines: int
    repeats: np.ndarray  # object: repeats.jsonl line of each document (None: a duplicate within the block)
    cleaned: np.ndarray  # object: --clean line of each document, or None
    kind: np.ndarray  # int8: DUPLICATE, NONE, LINES_ONLY or REPEATED

    @property
    def ids(self) -> np.ndarray:
        return self.doc_ids


def repeats_block(block: Block, read: ReadParams, config: Config, text_field: str | None) -> RepeatBlock:
    """Repeats of each document of the block; with ``text_field``, its cleaned record as well."""
    one_thread()
    docs, wheres, problems, lines = read_block(block, read)
    first: dict[str, int] = {}
    for row, d in enumerate(docs):
        first.setdefault(d.id, row)  # a later duplicate is dropped by the global order anyway
    found = {r.id: r for r in find_repeats([docs[row] for row in first.values()], config)}
    rep, clean = [None] * len(docs), [None] * len(docs)
    kind = np.full(len(docs), DUPLICATE, np.int8)
    for rid, row in first.items():
        r, d = found[rid], docs[row]
        rep[row] = _line(r.as_dict())
        kind[row] = REPEATED if r.repeated else LINES_ONLY if r.repeats else NONE
        if text_field is not None:
            clean[row] = _line({**(dict(d.record) if d.record else {"id": d.id}), text_field: r.cleaned})
    return RepeatBlock(objects([d.id for d in docs]), objects(wheres), problems, lines, objects(rep), objects(clean),
                       kind)


def repeat_lines(data: RepeatBlock, numbers: np.ndarray, column: str, starts: np.ndarray) -> Table:
    """The ``column`` lines ("repeats" or "cleaned") of the numbered documents, routed to their range."""
    rows = np.flatnonzero(numbers >= 0)
    return line_table(numbers[rows], getattr(data, column)[rows], starts)


def repeat_counts(data: RepeatBlock, numbers: np.ndarray) -> dict:
    """Figures of the summary line, over the numbered documents."""
    kind = data.kind[numbers >= 0]
    return {"documents": len(kind), "repeated": int(np.sum(kind == REPEATED)),
            "lines_only": int(np.sum(kind == LINES_ONLY))}


def repeats_files(client: Client, inputs: Sequence[str], read: ReadParams, config: Config,
                  out: str | os.PathLike | None, clean: str | os.PathLike | None = None,
                  stdout: IO[str] | None = None, text_field: str = "text", options: Options = Options(),
                  on_problem: OnProblem | None = None) -> dict:
    """Run ``dedup repeats`` on the cluster: repeats.jsonl (or stdout) and the cleaned corpus."""
    job = Job(client, options.max_fan)
    blocks, plan_problems = read_blocks(client, inputs, options)
    datas = job.map("repeats", repeats_block, blocks, read=read, config=config,
                    text_field=text_field if clean is not None else None)
    ordered = order_documents(job, blocks, datas, plan_problems, read, on_problem, options)
    numbers, starts = ordered.order.numbers, ordered.order.starts
    ranges = len(starts)
    if not blocks:  # nothing could be listed; the problems are reported
        output.write_texts([], Path(out) if out is not None else None, stdout)
        if clean is not None:
            output.write_texts([], Path(clean))
        return {"documents": 0, "repeated": 0, "lines_only": 0}

    def texts(column: str) -> list:
        lines = job.map(f"{column}-lines", repeat_lines, datas, numbers, column=column, starts=starts)
        return job.map(f"{column}-text", output.ordered_text, job.exchange(f"{column}-move", lines, ranges))

    output.write_texts(texts("repeats"), Path(out) if out is not None else None, stdout)
    if clean is not None:
        output.write_texts(texts("cleaned"), Path(clean))
    counts = client.gather(job.map("repeats-count", repeat_counts, datas, numbers))
    return {name: sum(c[name] for c in counts) for name in ("documents", "repeated", "lines_only")}
