"""``dedup index ...``: a persistent, incremental index: an SQLite file, or a PostgreSQL database by URL."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import params as P
from .cli import (ID_FIELD, INPUTS, PUBLISHED_FIELD, SOURCE_FIELD, STRICT, TEXT_FIELD, _errors, _say, err,
                  read_inputs)
from .index import Index
from .read import read_documents

app = typer.Typer(help="A persistent index: add articles as they arrive and ask what they duplicate.",
                  no_args_is_help=True)
INDEX = typer.Argument(..., help="The index: a file (SQLite), or a postgresql://user@host:port/db URL (PostgreSQL); "
                       "created by `add` or `assign` when missing or empty.")


def _config(threshold: Optional[float], k: Optional[int], num_perm: Optional[int], seed: Optional[int],
            containment: Optional[float]) -> Optional[P.Config]:
    """None (use what the index stores) unless a parameter was given."""
    if threshold is None and k is None and num_perm is None and seed is None and containment is None:
        return None
    return P.Config(shingle=P.ShingleParams(k=k if k is not None else P.DEFAULT_K),
                    minhash=P.MinHashParams(num_perm or P.DEFAULT_NUM_PERM, P.DEFAULT_SEED if seed is None else seed),
                    match=P.MatchParams(P.DEFAULT_THRESHOLD if threshold is None else threshold, containment))


THRESHOLD = typer.Option(None, help="Least exact Jaccard of a match (new index; default 0.5).")
K = typer.Option(None, "-k", help="Words per shingle (new index; default 2).")
NUM_PERM = typer.Option(None, help="MinHash permutations (new index; default 128).")
SEED = typer.Option(None, help="MinHash seed (new index; default 1).")
CONTAINMENT = typer.Option(None, help="Also match on containment (new index).")
STORE_SETS = typer.Option(None, "--store-sets/--no-store-sets", show_default=False,
                          help="Keep exact shingle sets for verification (new index; default on; without them "
                          "matches use the MinHash estimate).")
STORIES = typer.Option(None, "--stories/--no-stories", show_default=False,
                       help="Place each article in a story as it arrives (new index; default on; off saves the "
                       "story data, about 3.5 KB for a 500-word article).")


def _read(inputs: List[str], id_field: str, text_field: str, source_field: str, published_field: str,
          strict: bool) -> list:
    read = P.ReadParams(id_field, text_field, source_field=source_field, published_field=published_field,
                        strict=strict)
    return read_inputs(inputs, read, err.is_terminal)[0]


@app.command()
def add(
    index: str = INDEX, inputs: List[str] = INPUTS,
    threshold: Optional[float] = THRESHOLD, k: Optional[int] = K, num_perm: Optional[int] = NUM_PERM,
    seed: Optional[int] = SEED, containment: Optional[float] = CONTAINMENT,
    store_sets: Optional[bool] = STORE_SETS, stories: Optional[bool] = STORIES,
    batch: int = typer.Option(1000, help="Documents per transaction (each is durable once reported)."),
    workers: int = typer.Option(1, min=1, help="Processes extracting anchors and words for stories "
                                               "(the index is the same for any number)."),
    id_field: str = ID_FIELD, text_field: str = TEXT_FIELD, source_field: str = SOURCE_FIELD,
    published_field: str = PUBLISHED_FIELD, strict: bool = STRICT,
) -> None:
    """Add documents to an index; adding the same documents again changes nothing.

    Example: dedup index add news.db examples/corpus.jsonl
    """
    with _errors():
        config = _config(threshold, k, num_perm, seed, containment)
        docs = _read(inputs, id_field, text_field, source_field, published_field, strict)
        with Index.open(index, config, store_sets=store_sets, stories=stories) as ix:
            report = ix.add(docs, batch_size=batch, workers=workers)
    for conflict in report.conflicts:
        _say(f"warning: id {conflict!r} is already indexed with another text; the stored one was kept")
    print(json.dumps({"added": len(report.added), "already_present": len(report.present),
                      "conflicts": len(report.conflicts), "cleaned": len(report.cleaned), "new_pairs": report.pairs}))


@app.command()
def query(
    index: str = INDEX, inputs: List[str] = INPUTS,
    id_field: str = ID_FIELD, text_field: str = TEXT_FIELD, published_field: str = PUBLISHED_FIELD,
    strict: bool = STRICT,
) -> None:
    """Report each document's near-duplicates and story among the indexed ones, without adding it.

    `story` is the story it would join (null: it would start its own), `story_score` its mean score with
    that story's members. Example: dedup index query news.db examples/corpus.jsonl
    """
    with _errors():
        docs = _read(inputs, id_field, text_field, "source", published_field, strict)
        with Index.open(index, create=False) as ix:
            found = ix.query(docs)
            guesses = ix.query_stories(docs, found) if ix.stories else [None] * len(docs)
            for doc, matches, guess in zip(docs, found, guesses):
                record = {"id": doc.id, "matches": [
                    {"id": m.id, "jaccard": round(m.jaccard, 6), "estimated_jaccard": round(m.estimated_jaccard, 6),
                     "containment_query_in_match": round(m.containment_query_in_match, 6),
                     "containment_match_in_query": round(m.containment_match_in_query, 6)} for m in matches]}
                if guess is not None:
                    record.update(story=guess.story, story_score=guess.score, story_size=guess.size)
                print(json.dumps(record, ensure_ascii=False))


@app.command()
def assign(
    index: str = INDEX,
    source: str = typer.Argument("-", help="JSONL to read (default - : stdin), one article a line."),
    id_field: str = ID_FIELD, text_field: str = TEXT_FIELD, published_field: str = PUBLISHED_FIELD,
    strict: bool = STRICT,
) -> None:
    """Add each incoming article and print its cluster and story as it arrives (one JSON line each).

    `cluster` is the representative of its near-duplicate cluster, `story` the id of the article that started
    its story. Example: dedup index assign news.db - < examples/corpus.jsonl
    """
    read = P.ReadParams(id_field, text_field, published_field=published_field, strict=strict)
    with _errors():
        with Index.open(index) as ix:
            for doc in read_documents([source], read, lambda p: _say(f"warning: {p}")):
                a = ix.assign(doc)
                record = {"id": a.id, "status": a.status, "cluster": a.representative, "members": list(a.members)}
                if a.story is not None:
                    record.update(story=a.story, story_members=list(a.story_members))
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
                sys.stdout.flush()


@app.command()
def stats(index: str = INDEX) -> None:
    """Documents, pairs, clusters, size on disk and the parameters the index was made with.

    Example: dedup index stats news.db
    """
    with _errors():
        with Index.open(index, create=False) as ix:
            print(json.dumps(ix.stats(), default=str))


@app.command()
def remove(index: str = INDEX, ids: List[str] = typer.Argument(..., help="Ids to remove.")) -> None:
    """Remove documents (and their pairs) from the index.

    Example: dedup index remove news.db en-port-strike-ledger
    """
    with _errors():
        with Index.open(index, create=False) as ix:
            report = ix.remove(ids)
    for missing in report.missing:
        _say(f"warning: no document with id {missing!r} in {ix.where}")
    print(json.dumps({"removed": len(report.removed), "missing": len(report.missing)}))


@app.command()
def export(index: str = INDEX, out: Path = typer.Option(..., "--out", "-o", help="Folder for the files.")) -> None:
    """Write the files of `dedup find --out` (pairs, clusters, cleaned) and, with stories, of `dedup stories
    --out` (stories.jsonl, links.jsonl: the stories as placed when each article arrived).

    Example: dedup index export news.db --out out/index/
    """
    with _errors():
        with Index.open(index, create=False) as ix:
            ix.export(out)


@app.command()
def check(index: str = INDEX) -> None:
    """Check the index for consistency (signatures, bands, pairs, clusters and story tables agree).

    Example: dedup index check news.db
    """
    with _errors():
        with Index.open(index, create=False) as ix:
            problems = ix.check()
    for p in problems:
        _say(f"problem: {p}")
    if problems:
        raise typer.Exit(1)
    print("ok")
