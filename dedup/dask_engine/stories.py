"""``dedup stories --engine dask``: anchors and word counts made where the documents are read, same output bytes.

What runs where:

* **Workers**, one task per block of the input (``inputs.py``, as ``dedup find --engine dask``
  cuts it): read the block with dedup's own reader, extract every document's features
  (language, anchor keys and kinds, word counts: what :func:`dedup.stories._all_features`
  yields; pure Python, about 1.5 ms and 0.5 ms an article, the largest stages of ``dedup
  stories``) and hash it for the near-duplicate search. Then the global id order
  (``order.py``), which drops duplicate ids and words every problem as the local reader does.
* **Workers**, the ``copy`` links: near-duplicate pairs at ``copy_threshold`` through the same
  machinery as ``dedup find --engine dask`` (LSH band keys exchanged across blocks, pairs
  verified where the sets are), on the sketches made in the read tasks. It runs while the
  client builds the corpus arrays and the word vectors.
* **Client**: the documents (without their original records) and their features come back in
  id order; from there it is the local code of :mod:`dedup.stories`: anchor ids and weights,
  TF-IDF rows from the word counts and LSA per language, candidate pairs and their scores
  (compiled, in chunks of ``CHUNK`` documents), average linkage, and the records, written by
  ``write_stories``, as the local command writes them.

So the result is the local one by construction: the same documents in the same order, the
same features (the same function on the same text), the same copy pairs (the Dask find engine
gives the local engine's pairs), and the rest is the same code on the client.

What limits scale: the client holds the whole corpus (texts included: the dates in texts and
the evidence of copy links read them) and its arrays, and does the TF-IDF rows and topic
projection (about 0.3 ms an article), the scoring (about 0.1 ms) and the linkage alone.
Scoring reads every array of the corpus (the word vectors are the largest), and at about 4%
of the local run it was not worth sending them to the workers. Memory is the local engine's.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from distributed import Client, Future

from ..document import Document, Problem
from ..errors import InputError
from ..params import Config, MatchParams, ReadParams
from ..pipeline import spec_of
from ..sketch import sketch
from ..stories import (Features, StoryParams, _anchor_work, _Clock, _codes, _features_of, _prepare, _stories,
                       write_stories)
from .engine import OnProblem, Options, _verified_pairs, order_documents, read_blocks
from .inputs import Block, read_block
from .matching import BlockData, units_of
from .parts import Job, Part, Sized, objects, one_thread

@dataclass
class StoryBlock(Sized):
    """One block after reading: ids and where they were read (for the id order), the documents and their
    anchors (None for a later duplicate inside the block), and the sketches for the copy search."""

    doc_ids: np.ndarray  # object: document ids
    doc_wheres: np.ndarray  # object: where each was read
    problems: list[Problem]
    lines: int
    docs: np.ndarray  # object: Document (its record dropped: stories never read it), or None
    features: np.ndarray  # object: Features (language, anchors, word counts), or None
    sketched: BlockData | None  # None: no copy links (copy_threshold None)


def copy_config(params: StoryParams) -> Config | None:
    """The configuration of :func:`dedup.stories._copy_pairs` (None: no copy links)."""
    return None if params.copy_threshold is None else Config(match=MatchParams(threshold=params.copy_threshold))


def story_block(block: Block, read: ReadParams, copies: Config | None, words: bool) -> StoryBlock:
    """Read one block, extract the anchors (and with ``words`` the word counts) of its documents and hash
    them for the copy search."""
    one_thread()
    docs, wheres, problems, lines = read_block(block, read)
    first: dict[str, int] = {}
    for row, d in enumerate(docs):
        first.setdefault(d.id, row)  # a later duplicate is dropped by the global order anyway
    rows = sorted(first.values())
    features: list[Features | None] = [None] * len(docs)
    kept: list[Document | None] = [None] * len(docs)
    for row, found in zip(rows, _features_of([_anchor_work(docs[r]) for r in rows], words)):
        features[row] = found
        kept[row] = dataclasses.replace(docs[row], record={})
    ids, where = objects([d.id for d in docs]), objects(wheres)
    return StoryBlock(ids, where, problems, lines, objects(kept), objects(features),
                      _sketched(docs, ids, where, problems, lines, copies) if copies is not None else None)


def _sketched(docs: list[Document], ids: np.ndarray, wheres: np.ndarray, problems: list[Problem], lines: int,
              config: Config) -> BlockData:
    """What :func:`dedup.dask_engine.matching.sketch_block` makes of the block, from the documents read here."""
    units, unit_doc = units_of(docs, config.level)
    with_paragraphs = config.match.containment is not None and config.level == "article"
    sk = sketch([u.text for u in units], spec_of(config), paragraphs=with_paragraphs, repeats=config.repeats)
    return BlockData(np.array([u.id for u in units], dtype=object), np.array([u.published for u in units], object),
                     unit_doc, ids, wheres, sk, problems, lines)


def sketched_of(data: StoryBlock) -> BlockData:
    return data.sketched


def numbered(data: StoryBlock, numbers: np.ndarray) -> tuple[np.ndarray, list[Document], list[Features]]:
    """The documents kept by the id order, their numbers and features (to the client)."""
    rows = np.flatnonzero(numbers >= 0).tolist()
    return numbers[rows], [data.docs[r] for r in rows], [data.features[r] for r in rows]


def copy_codes(part: Part, n: int) -> np.ndarray:
    """Codes ``i * n + j`` (i < j) of the verified pairs of one part, as :func:`dedup.stories._copy_pairs`."""
    i, j = part.rows["i"].astype(np.int64), part.rows["j"].astype(np.int64)
    return _codes(np.minimum(i, j), np.maximum(i, j), n)


def _copies(job: Job, sketched: Sequence[Future], numbers: Sequence[Future], config: Config | None,
            n: int) -> np.ndarray:
    """The sorted codes of the copy pairs, found by the Dask find engine's LSH and verification."""
    if config is None or n < 2:
        return np.empty(0, np.int64)
    verified = _verified_pairs(job, sketched, numbers, config, {}, {})
    codes = job.client.gather(job.map("copies-codes", copy_codes, verified, n=n))
    return np.unique(np.concatenate([np.empty(0, np.int64)] + codes))


def _documents(job: Job, datas: Sequence[Future], numbers: Sequence[Future],
               n: int) -> tuple[list[Document], list[Features]]:
    """The documents in id order (what ``sorted_documents`` gives locally) and their features."""
    docs: list = [None] * n
    features: list = [None] * n
    for future in job.map("stories-gather", numbered, datas, numbers):
        nums, block_docs, block_features = future.result()
        for k, number in enumerate(nums.tolist()):
            docs[number], features[number] = block_docs[k], block_features[k]
        future.release()
    return docs, features


def stories_files(client: Client, inputs: Sequence[str], read: ReadParams, params: StoryParams,
                  out: str | os.PathLike, options: Options = Options(),
                  on_problem: OnProblem | None = None) -> dict:
    """Run ``dedup stories`` with the cluster and write stories.jsonl and links.jsonl in ``out``; returns
    the figures of the run: documents, skipped records, blocks, stories, links, and the stats of
    :func:`dedup.stories.find_stories` (``seconds``: ``anchors`` counts reading, ordering and the
    transfer to the client)."""
    job = Job(client, options.max_fan)
    clock = _Clock()
    blocks, plan_problems = read_blocks(client, inputs, options)
    config = copy_config(params)
    datas = job.map("stories-read", story_block, blocks, read=read, copies=config, words=params.word_weight > 0)
    ordered = order_documents(job, blocks, datas, plan_problems, read, on_problem, options)
    order = ordered.order
    n = order.total
    if n >= 2**31:  # document numbers are packed two to an int64 in the copy search
        raise InputError(f"{n:,} documents: --engine dask handles fewer than {2**31:,} at once")
    sketched = job.map("copies-data", sketched_of, datas) if config is not None and n >= 2 else []
    with ThreadPoolExecutor(1) as pool:
        copies = pool.submit(_copies, job, sketched, order.numbers, config, n)  # on the cluster, meanwhile:
        docs, features = _documents(job, datas, order.numbers, n)
        del datas  # the blocks' texts and features are here now (the sketches stay for the copy search)
        corpus = _prepare(docs, features=features)
        del features
        clock.lap("anchors")
        result = _stories(corpus, params, clock, copy_pairs=lambda _docs, _params: copies.result())
    stories, links = write_stories(result, out)
    return {**result.stats, "documents": n, "skipped": ordered.skipped, "blocks": len(blocks),
            "stories": stories, "links": links}
