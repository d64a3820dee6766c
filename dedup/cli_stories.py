"""``dedup stories`` and ``dedup eval``: the same story across outlets and languages, and scoring a grouping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from . import params as P
from .cli import (ENGINE, ID_FIELD, INPUTS, PARTITION_SIZE, PUBLISHED_FIELD, SCHEDULER, SOURCE_FIELD, STRICT,
                  TEXT_FIELD, Engine, _errors, _local_only, _on_dask, _warn, err, read_inputs)
from .evaluate import evaluate, read_labels
from .stories import StoryParams, find_stories, write_stories


def stories(
    inputs: List[str] = INPUTS,
    out: Path = typer.Option(..., "--out", "-o", help="Write stories.jsonl and links.jsonl here."),
    threshold: float = typer.Option(StoryParams.threshold, help="Least mean pair score for two groups to merge."),
    window_days: float = typer.Option(StoryParams.window_days, help="Dated pairs farther apart than this are "
                                      "penalised."),
    copy_threshold: Optional[float] = typer.Option(StoryParams.copy_threshold, help="Word 2-gram Jaccard of a "
                                                   "`copy` link (near-duplicates from `dedup find`)."),
    id_field: str = ID_FIELD, text_field: str = TEXT_FIELD, source_field: str = SOURCE_FIELD,
    published_field: str = PUBLISHED_FIELD,
    lang_field: str = typer.Option("lang", help="Field holding the language code (guessed when absent).",
                                   rich_help_panel="Input"),
    strict: bool = STRICT,
    workers: Optional[int] = typer.Option(None, min=1, help="Processes extracting anchors and counting words "
                                          "(default 1; the result is the same); with --engine dask, worker "
                                          "processes of the local cluster (default: one per core).",
                                          rich_help_panel="Scale"),
    engine: Engine = ENGINE, scheduler: Optional[str] = SCHEDULER, partition_size: Optional[str] = PARTITION_SIZE,
) -> None:
    """Group documents into stories: the same reporting rewritten by many outlets, also across languages.

    Example: dedup stories examples/corpus.jsonl --out out/stories/
    """
    with _errors():
        params = StoryParams(threshold=threshold, window_days=window_days, copy_threshold=copy_threshold)
        read = P.ReadParams(id_field, text_field, source_field=source_field, published_field=published_field,
                            lang_field=lang_field, strict=strict)
        if engine is Engine.dask:
            def run(client, options):
                from .dask_engine.stories import stories_files

                return stories_files(client, inputs, read, params, out, options, _warn)

            figures = _on_dask(inputs, scheduler, workers, partition_size, run)
            documents, n, m = figures["documents"], figures["stories"], figures["links"]
        else:
            _local_only(scheduler, partition_size)
            docs, _ = read_inputs(inputs, read, err.is_terminal)
            result = find_stories(docs, params, workers=workers or 1)
            n, m = write_stories(result, out)
            documents = len(docs)
    if err.is_terminal:
        err.print(f"{documents:,} documents: {n:,} stories of two or more, {m:,} links")


def eval_(
    pred: Path = typer.Argument(..., help="Predicted grouping: JSONL with an id and a label, or stories.jsonl "
                                "/ clusters.jsonl with member lists."),
    gold: Path = typer.Argument(..., help="Gold labels: JSONL with an id and a label field."),
    pred_id: str = typer.Option("id", help="Id field in PRED."),
    pred_label: str = typer.Option("story", help="Label field in PRED (ignored for member lists)."),
    gold_id: str = typer.Option("id", help="Id field in GOLD."),
    gold_label: str = typer.Option("label", help="Label field in GOLD."),
) -> None:
    """Score a grouping against labels: pairwise and B-cubed precision/recall/F1, adjusted Rand index.

    Example: dedup eval out/stories/stories.jsonl gold.jsonl --gold-id doc_id --gold-label event
    """
    with _errors():
        scores = evaluate(read_labels(pred, pred_id, pred_label), read_labels(gold, gold_id, gold_label))
    print(json.dumps(scores))


def register(app: typer.Typer) -> None:
    app.command()(stories)
    app.command(name="eval")(eval_)
