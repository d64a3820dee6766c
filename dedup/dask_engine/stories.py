"""``dedup stories --engine dask``: the same output bytes, with no machine holding the corpus, its pairs or links.

What runs where (the client only sees counts, and the output one range at a time):

* **Blocks**, one task per block of the input (``inputs.py``, as ``dedup find --engine dask``
  cuts it): read with dedup's own reader, every document's features (language, anchor keys
  and kinds, word counts: :func:`dedup.stories._features_of`, pure Python, about 2 ms an
  article, the largest stage) and its sketch for the copy search. Then the global id order
  (``order.py``), which drops duplicate ids and words every problem as the local reader does.
* **Copy links**: near-duplicate pairs at ``copy_threshold`` through ``dedup find --engine
  dask``'s own stages (LSH band keys exchanged across blocks, pairs verified where the sets are).
* **The corpus model** (:mod:`.story_model`): the documents move to ranges of the id order;
  anchor and term vocabularies are sample-sorted across ranges, which gives every anchor its
  global id and document frequency and every term its column; each range then makes its
  documents' anchor weights and TF-IDF rows, and its topic rows from directions learnt per
  language group in one task.
* **Pairs** (:mod:`.story_parts`): candidates from anchor postings exchanged by anchor; their
  scores in the range of the smaller document, with the other one's row fetched from its
  range; average linkage on each connected component of the links (``components.stars``);
  the stories' records, the pairs inside stories and the links' evidence, each where its
  first document lives.

The result is the local one by construction: the same features, the same numbering of
anchors and terms, the same arithmetic on each document's row (sums in the same order), and
the local scoring, linkage and record code run on pieces that hold all those functions read.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Sequence

import numpy as np
from distributed import Client, Future

from ..document import Document, Problem
from ..errors import InputError
from ..params import Config, MatchParams, ReadParams
from ..pipeline import spec_of
from ..sketch import sketch
from ..stories import Features, StoryParams, _anchor_work, _Clock, _features_of
from . import components
from .engine import OnProblem, Options, _threads, _verified_pairs, order_documents, read_blocks
from .inputs import Block, read_block
from .matching import BlockData, units_of
from .output import write_texts
from .parts import Job, Sized, objects, one_thread
from .story_model import build_model
from .story_parts import (LINK_COLUMNS, META_COLUMNS, SCORE_COLUMNS, anchor_pairs, copy_pairs, link_requests, link_text,
                          linkage, links_to_labels, member_requests, pair_requests, postings, scored_links, serve,
                          sorted_stories, story_pairs, story_text)

DOCUMENTS_PER_RANGE = 50_000  # at most, in the stages after reading (about 25 KB each, texts included)


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


def stories_files(client: Client, inputs: Sequence[str], read: ReadParams, params: StoryParams,
                  out: str | os.PathLike, options: Options = Options(),
                  on_problem: OnProblem | None = None) -> dict:
    """Run ``dedup stories`` with the cluster and write stories.jsonl and links.jsonl in ``out``; returns
    the figures of the run: documents, skipped records, blocks, anchors, copies, candidates, links
    scored, stories and their documents, links, and ``seconds`` (where the client waited) and
    ``peak_rss_mb`` (the client's) per stage."""
    job = Job(client, options.max_fan)
    clock = _Clock()
    blocks, plan_problems = read_blocks(client, inputs, options)
    config = copy_config(params)
    datas = job.map("stories-read", story_block, blocks, read=read, copies=config, words=params.word_weight > 0)
    ordered = order_documents(job, blocks, datas, plan_problems, read, on_problem, options)
    order = ordered.order
    n = order.total
    if n >= 2**31:  # document numbers are packed two to an int64 in the pairs
        raise InputError(f"{n:,} documents: --engine dask handles fewer than {2**31:,} at once")
    figures = {"documents": n, "skipped": ordered.skipped, "blocks": len(blocks), "anchors": 0, "copies": 0,
               "candidates": 0, "links_scored": 0, "scored_pairs": 0, "stories": 0, "documents_in_stories": 0,
               "links": 0}
    verified = (_verified_pairs(job, job.map("copies-data", sketched_of, datas), order.numbers, config, {}, {})
                if config is not None and n >= 2 else [])  # runs on the cluster meanwhile
    # a range fetches the rows of its documents' partners, most of them in other ranges: few ranges move
    # less, but every worker thread needs one and a range must fit in a worker
    ranges = max(1, min(n, max(len(order.starts), _threads(client), math.ceil(n / DOCUMENTS_PER_RANGE))))
    starts = (np.arange(ranges) * n) // ranges
    files = ([], [], [])
    if n:
        own, model = build_model(job, datas, order.numbers, starts, n, params)
        del datas  # the ranges hold the documents now (the sketches stay for the copy search)
        figures["anchors"] = model.pop("anchors")
        clock.lap("model")
        files = _files(job, own, starts, verified, params, model, options, figures, clock)
    Path(out).mkdir(parents=True, exist_ok=True)
    write_texts(files[0], Path(out) / "stories.jsonl")
    write_texts(files[1], Path(out) / "links.jsonl")
    figures["links"] = sum(job.client.gather(files[2]))
    clock.lap("records")
    return {**figures, "seconds": clock.laps, "peak_rss_mb": clock.peaks}


def _files(job: Job, own: Sequence[Future], starts: np.ndarray, verified: Sequence[Future], params: StoryParams,
           model: dict, options: Options, figures: dict, clock: _Clock) -> tuple[list, list, list]:
    """Futures of the texts of stories.jsonl and links.jsonl by range, and of the links' counts."""
    ranges = len(starts)
    scoring = {"params": params, **model}
    numbers = list(range(ranges))
    post = job.exchange("cand-move", job.map("cand-post", postings, own, n_out=ranges), ranges)
    pairs = job.exchange("pairs-move", job.map("cand-pairs", anchor_pairs, post, starts=starts), ranges)
    copies = (job.exchange("copies-move", job.map("copies-route", copy_pairs, verified, starts=starts), ranges)
              if verified else [[] for _ in numbers])
    served = _fetch(job, "score", own, job.map("score-ask", pair_requests, own, pairs, numbers, starts=starts),
                    SCORE_COLUMNS)
    links = job.map("scores", scored_links, own, served, pairs, copies, **scoring)
    facts = job.facts("scores-facts", links)
    for name, key in (("copies", "copies"), ("candidates", "candidates"), ("links_scored", "links")):
        figures[name] = sum(f[key] for f in facts)
    clock.lap("scores")
    if figures["links_scored"] == 0:
        return [], [], []
    graph = max(1, min(ranges, math.ceil(figures["links_scored"] / options.edges_per_partition)))
    forest = components.stars(job, links, graph)
    labels = job.exchange("story-labels-move", job.map("story-labels", components.node_labels, forest,
                                                        n_out=graph), graph)
    moved = job.exchange("story-links-move", job.map("story-links", links_to_labels, links, n_out=graph), graph)
    joined = job.map("story-components", components.by_component, labels, moved, n_out=graph)
    found = job.map("linkage", linkage, job.exchange("linkage-move", joined, graph), threshold=params.threshold,
                    starts=starts)
    stories = job.map("stories-sort", sorted_stories, job.exchange("stories-move", found, ranges))
    counts = job.facts("stories-count", stories)
    figures["stories"] = sum(f["stories"] for f in counts)
    figures["documents_in_stories"] = sum(f["members"] for f in counts)
    clock.lap("clustering")
    firsts = (1 + np.r_[0, np.cumsum([f["stories"] for f in counts])[:-1]]).astype(int).tolist()
    members = _fetch(job, "members", own, job.map("members-ask", member_requests, stories, numbers, starts=starts),
                     META_COLUMNS)
    story_texts = job.map("stories-text", story_text, stories, members, firsts)
    inside = job.exchange("inside-move", job.map("inside", story_pairs, stories, starts=starts), ranges)
    served = _fetch(job, "links", own, job.map("links-ask", link_requests, own, inside, copies, numbers,
                                               starts=starts), LINK_COLUMNS)
    made = job.map("links-text", link_text, own, served, inside, copies, **scoring)
    figures["scored_pairs"] = figures["candidates"] + sum(job.client.gather(job.map("links-scored", itemgetter(2),
                                                                                     made)))
    return story_texts, job.map("links-lines", itemgetter(0), made), job.map("links-count", itemgetter(1), made)


def _fetch(job: Job, stage: str, own: Sequence[Future], asked: Sequence[Future], columns: Sequence[str]) -> list:
    """For each range, the rows (with ``columns``) that its ``asked`` requests named, from the ranges holding them."""
    ranges = len(own)
    questions = job.exchange(f"{stage}-ask-move", asked, ranges)
    return job.exchange(f"{stage}-serve-move", job.map(f"{stage}-serve", serve, own, questions, columns=columns),
                        ranges)
