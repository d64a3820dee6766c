"""The ``dedup`` command: a thin layer over the library.

Messages go to stderr, one line each; progress bars and the summary table are
shown only when stderr is a terminal, so piped runs stay quiet.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import params as P
from .document import Document
from .errors import DedupError, InputError
from .explain import explain as explain_pair
from .pipeline import find as run_find
from .pipeline import find_repeats
from .read import read_documents
from .report import cluster_records, write_cleaned, write_jsonl, write_kept, write_repeats, write_report

app = typer.Typer(help="Find near-duplicate, syndicated and repeated news text.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
err = Console(stderr=True, highlight=False)


class Level(str, Enum):
    article = "article"
    paragraph = "paragraph"


class Unit(str, Enum):
    word = "word"
    char = "char"


class Method(str, Enum):
    connected = "connected"
    star = "star"


class Engine(str, Enum):
    local = "local"
    dask = "dask"


INPUTS = typer.Argument(..., help="JSONL (.jsonl, .jsonl.gz), CSV, .txt files, folders of .txt, or - for stdin.")
ID_FIELD = typer.Option("id", help="Field holding the document id.", rich_help_panel="Input")
TEXT_FIELD = typer.Option("text", help="Field holding the text.", rich_help_panel="Input")
TITLE_FIELD = typer.Option("title", help="Field holding the title.", rich_help_panel="Input")
SOURCE_FIELD = typer.Option("source", help="Field holding the outlet.", rich_help_panel="Input")
PUBLISHED_FIELD = typer.Option("published", help="Field holding the ISO 8601 date.", rich_help_panel="Input")
URL_FIELD = typer.Option("url", help="Field holding the URL.", rich_help_panel="Input")
LANG_FIELD = typer.Option("lang", help="Field holding the language code.", rich_help_panel="Input")
STRICT = typer.Option(False, "--strict", help="Stop at the first bad record instead of skipping it.",
                      rich_help_panel="Input")
MAX_CHARS = typer.Option(1_000_000, help="Use only this many characters of a longer text (reported).",
                         rich_help_panel="Input")
UNIT = typer.Option(Unit.word, help="Shingle unit.", rich_help_panel="Shingles")
K = typer.Option(P.DEFAULT_K, "-k", help="Units per shingle.", rich_help_panel="Shingles")
STRIP_ACCENTS = typer.Option(False, "--strip-accents", help="Fold é to e, ü to u, ...", rich_help_panel="Shingles")
NUM_PERM = typer.Option(P.DEFAULT_NUM_PERM, help="MinHash permutations.", rich_help_panel="Shingles")
SEED = typer.Option(P.DEFAULT_SEED, help="MinHash seed.", rich_help_panel="Shingles")
THRESHOLD = typer.Option(P.DEFAULT_THRESHOLD, help="Least exact Jaccard similarity of a match.")
CONTAINMENT = typer.Option(None, help="Also match when this share of one document's shingles is in the other.")
ENGINE = typer.Option(Engine.local, help="local: this process. dask: a Dask cluster; inputs may be globs and "
                      "fsspec URLs (s3://...), also Parquet; the same output files.", rich_help_panel="Scale")
SCHEDULER = typer.Option(None, help="Address of a running Dask scheduler (tcp://host:8786). Default: a cluster "
                         "of --workers processes on this machine.", rich_help_panel="Scale")
PARTITION_SIZE = typer.Option(None, "--partition-size", help="Input bytes per Dask partition, e.g. 64MiB "
                              "(default: equal parts, at least four per worker thread, at most 128MiB).",
                              rich_help_panel="Scale")


def _say(line: str) -> None:
    """One message, one line: never wrapped, whatever the terminal width."""
    sys.stderr.write(line.replace("\n", " ") + "\n")


def _fail(message: str, code: int = 1) -> None:
    _say(f"error: {message}")
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn dedup's own errors into one line and an exit code, never a traceback."""
    try:
        yield
    except P.ParameterError as e:
        _fail(str(e), 2)
    except DedupError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1)
    except OSError as e:
        _fail(f"{getattr(e, 'filename', '') or ''}: {e.strerror or e}".lstrip(": "))


def _progress(enabled: bool) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, disable=not enabled, transient=True)


def read_inputs(inputs: List[str], read: P.ReadParams, show: bool) -> tuple[list[Document], int]:
    """All documents of the inputs; every problem printed as one line. Returns (docs, skipped)."""
    skipped = 0

    def report(problem) -> None:
        nonlocal skipped
        skipped += problem.skipped
        _say(f"warning: {problem}")

    docs = []
    with _progress(show) as bar:
        task = bar.add_task("reading", total=None)
        for d in read_documents(inputs, read, report):
            docs.append(d)
            if len(docs) % 1000 == 0:
                bar.update(task, completed=len(docs))
    if not docs and skipped:
        raise InputError(f"no documents could be read ({skipped} problems reported above)")
    return docs, skipped


def _config(level: Level, unit: Unit, k: int, strip_accents: bool, num_perm: int, seed: int, threshold: float,
            containment: Optional[float], method: Method, max_bucket: int, clean: bool = True,
            min_words: int = 30) -> P.Config:
    return P.Config(level=level.value, normalize=P.NormalizeParams(strip_accents=strip_accents),
                    shingle=P.ShingleParams(unit=unit.value, k=k), minhash=P.MinHashParams(num_perm, seed),
                    lsh=P.LSHParams(max_bucket=max_bucket), match=P.MatchParams(threshold, containment),
                    cluster=P.ClusterParams(method.value), repeats=P.RepeatParams(clean=clean, min_words=min_words))


@app.command()
def find(
    inputs: List[str] = INPUTS,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write pairs.jsonl and clusters.jsonl here. "
                                       "Without it, clusters go to stdout as JSONL."),
    keep_first: Optional[Path] = typer.Option(None, help="Write the corpus with one document per cluster (JSONL)."),
    level: Level = typer.Option(Level.article, help="Compare whole articles or single paragraphs (ID#N)."),
    threshold: float = THRESHOLD,
    containment: Optional[float] = CONTAINMENT,
    cluster: Method = typer.Option(Method.connected, help="connected: transitive groups; star: no chaining, "
                                   "every member matches its representative."),
    unit: Unit = UNIT, k: int = K, strip_accents: bool = STRIP_ACCENTS, num_perm: int = NUM_PERM,
    seed: int = SEED,
    max_bucket: int = typer.Option(200, help="LSH buckets larger than this link members to one representative "
                                   "instead of all pairs (reported)."),
    clean_repeats: bool = typer.Option(True, help="Leave a document's repeated body/paragraphs out of its "
                                       "shingles (listed in cleaned.jsonl)."),
    workers: Optional[int] = typer.Option(None, help="Threads for hashing (default: all cores); with --engine dask, "
                                          "worker processes of the local cluster."),
    engine: Engine = ENGINE, scheduler: Optional[str] = SCHEDULER, partition_size: Optional[str] = PARTITION_SIZE,
    id_field: str = ID_FIELD, text_field: str = TEXT_FIELD, title_field: str = TITLE_FIELD,
    source_field: str = SOURCE_FIELD, published_field: str = PUBLISHED_FIELD, url_field: str = URL_FIELD,
    lang_field: str = LANG_FIELD, strict: bool = STRICT, max_chars: int = MAX_CHARS,
) -> None:
    """Find near-duplicate articles, group them, and report pairs and clusters.

    Example: dedup find examples/corpus.jsonl --out out/
    """
    show = err.is_terminal
    started = time.perf_counter()
    with _errors():
        config = _config(level, unit, k, strip_accents, num_perm, seed, threshold, containment, cluster, max_bucket,
                         clean_repeats)
        read = P.ReadParams(id_field, text_field, title_field, source_field, url_field, published_field, lang_field,
                            strict=strict, max_chars=max_chars)
        if engine is Engine.dask:
            def run(client, options):
                from .dask_engine.engine import find_files

                return find_files(client, inputs, read, config, out, keep_first, sys.stdout, options, _warn)

            _find_notes(_on_dask(inputs, scheduler, workers, partition_size, run), max_bucket, show, started)
            return
        _local_only(scheduler, partition_size)
        if workers is not None:
            import numba

            if not 1 <= workers <= numba.config.NUMBA_NUM_THREADS:
                raise P.ParameterError(f"workers={workers!r} is invalid: expected 1 to "
                                       f"{numba.config.NUMBA_NUM_THREADS}")
            numba.set_num_threads(workers)
        docs, skipped = read_inputs(inputs, read, show)
        with _progress(show) as bar:
            task = bar.add_task("hashing", total=len(docs))
            result = run_find(docs, config, lambda stage, done, total: bar.update(task, completed=done))
        if out is not None:
            write_report(result, out)
        else:
            write_jsonl(cluster_records(result), sys.stdout)
        if keep_first is not None:
            write_kept(result, keep_first)
    _find_notes({**result.stats, "skipped": skipped}, max_bucket, show, started)


def _find_notes(stats: dict, max_bucket: int, show: bool, started: float) -> None:
    if stats["oversized_buckets"]:
        _say(f"note: {stats['oversized_buckets']} LSH buckets had more than {max_bucket} documents "
             f"(largest {stats['largest_bucket']}); their members were linked to one "
             "representative instead of all pairs")
    if show:
        _summary(stats, stats["skipped"], time.perf_counter() - started)


def _warn(problem) -> None:
    _say(f"warning: {problem}")


def _local_only(scheduler: Optional[str], partition_size: Optional[str]) -> None:
    for name, value in (("scheduler", scheduler), ("partition_size", partition_size)):
        if value is not None:
            raise P.ParameterError(f"{name}={value!r} is invalid: expected it only with --engine dask")


def _on_dask(inputs: List[str], scheduler: Optional[str], workers: Optional[int], partition_size: Optional[str],
             run):
    """Connect (a running scheduler, or a local cluster of ``workers`` processes) and ``run(client, options)``;
    Dask is imported only here (an optional dependency), and a cluster that fails is one line."""
    from .dask_engine import require

    require()
    from dask.utils import parse_bytes
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    from .dask_engine.engine import Options, check_inputs, connect
    from .errors import DedupError

    check_inputs(inputs)
    size = None
    if partition_size is not None:
        try:
            size = parse_bytes(partition_size)
        except (ValueError, TypeError):
            size = 0
        if size < 1:
            raise P.ParameterError(f"partition_size={partition_size!r} is invalid: expected a size such as 64MiB")
    if workers is not None and (scheduler is not None or workers < 1):
        raise P.ParameterError(f"workers={workers!r} is invalid: expected a positive number of local worker "
                               "processes, and none with --scheduler (the cluster has its workers)")
    try:
        with connect(scheduler, workers) as client:
            return run(client, Options(blocksize=size))
    except (KilledWorker, CommClosedError, TimeoutError) as e:
        raise DedupError(f"the Dask cluster failed: {type(e).__name__}: {e}") from None


def _summary(stats: dict, skipped: int, seconds: float) -> None:
    table = Table(title="dedup find", show_header=False, title_justify="left")
    rows = [("documents", stats["documents"]), ("records skipped", skipped), ("empty texts", stats["empty"]),
            ("LSH bands x rows", f"{stats['bands']} x {stats['rows']}"), ("candidate pairs", stats["candidates"]),
            ("oversized buckets", stats["oversized_buckets"]), ("matching pairs", stats["pairs"]),
            ("clusters", stats["clusters"]), ("duplicates (not kept)", stats["duplicates"]),
            ("cleaned of repeats", stats["cleaned"]),
            ("seconds", f"{seconds:.2f}")]
    for name, value in rows:
        table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    err.print(table)


@app.command()
def repeats(
    inputs: List[str] = INPUTS,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write one JSON line per document here "
                                       "(default: stdout)."),
    clean: Optional[Path] = typer.Option(None, help="Write the corpus with repeats removed (JSONL)."),
    min_words: int = typer.Option(30, help="Shortest repeated body/paragraph, in words; shorter repeats count only "
                                  "as whole repeated lines."),
    k: int = K, strip_accents: bool = STRIP_ACCENTS,
    engine: Engine = ENGINE, scheduler: Optional[str] = SCHEDULER, partition_size: Optional[str] = PARTITION_SIZE,
    workers: Optional[int] = typer.Option(None, help="With --engine dask: worker processes of the local cluster.",
                                          rich_help_panel="Scale"),
    id_field: str = ID_FIELD, text_field: str = TEXT_FIELD, strict: bool = STRICT, max_chars: int = MAX_CHARS,
) -> None:
    """Find text repeated inside each document: a body captured twice, paragraphs or captions pasted again.

    Example: dedup repeats examples/corpus.jsonl --out repeats.jsonl --clean cleaned.jsonl
    """
    show = err.is_terminal
    with _errors():
        config = _config(Level.article, Unit.word, k, strip_accents, P.DEFAULT_NUM_PERM, P.DEFAULT_SEED,
                         P.DEFAULT_THRESHOLD, None, Method.connected, 200, min_words=min_words)
        read = P.ReadParams(id_field, text_field, strict=strict, max_chars=max_chars)
        if engine is Engine.dask:
            def run(client, options):
                from .dask_engine.repeats import repeats_files

                return repeats_files(client, inputs, read, config, out, clean, sys.stdout, text_field, options,
                                     _warn)

            counts = _on_dask(inputs, scheduler, workers, partition_size, run)
        else:
            _local_only(scheduler, partition_size)
            if workers is not None:
                raise P.ParameterError(f"workers={workers!r} is invalid: expected it only with --engine dask")
            docs, _ = read_inputs(inputs, read, show)
            found = find_repeats(docs, config)
            write_repeats(found, out, sys.stdout)
            if clean is not None:
                write_cleaned(docs, found, clean, text_field)
            counts = {"documents": len(found), "repeated": sum(1 for r in found if r.repeated),
                      "lines_only": sum(1 for r in found if r.repeats and not r.repeated)}
    if show:
        err.print(f"{counts['documents']:,} documents: {counts['repeated']:,} with a repeated body or paragraph, "
                  f"{counts['lines_only']:,} with repeated lines only")


@app.command()
def explain(
    a: str = typer.Argument(..., help="Id of the first document."),
    b: str = typer.Argument(..., help="Id of the second document."),
    inputs: List[str] = INPUTS,
    json_out: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
    unit: Unit = UNIT, k: int = K, strip_accents: bool = STRIP_ACCENTS, num_perm: int = NUM_PERM,
    seed: int = SEED,
    clean_repeats: bool = typer.Option(True, help="Leave repeated bodies/paragraphs out, as `find` does."),
    id_field: str = ID_FIELD, text_field: str = TEXT_FIELD, strict: bool = STRICT, max_chars: int = MAX_CHARS,
) -> None:
    """Show why two documents match: the figures and their shared passages side by side.

    Example: dedup explain ID_A ID_B examples/corpus.jsonl
    """
    with _errors():
        config = _config(Level.article, unit, k, strip_accents, num_perm, seed, P.DEFAULT_THRESHOLD, None,
                         Method.connected, 200, clean_repeats)
        read = P.ReadParams(id_field, text_field, strict=strict, max_chars=max_chars)
        wanted = {}
        for d in read_documents(inputs, read, lambda p: _say(f"warning: {p}")):
            if d.id in (a, b):
                wanted[d.id] = d
        for name in (a, b):
            if name not in wanted:
                _fail(f"no document with id {name!r} in the inputs")
        ex = explain_pair(wanted[a], wanted[b], config)
    if json_out:
        import json

        print(json.dumps(ex.as_dict(), ensure_ascii=False))
        return
    out = Console(highlight=False)
    figures = Table(show_header=False, title=f"{escape(a)}  vs  {escape(b)}", title_justify="left")
    for name in ("jaccard", "estimated_jaccard", "containment_a_in_b", "containment_b_in_a"):
        figures.add_row(name, f"{getattr(ex, name):.3f}")
    figures.add_row("shingles (a, b, shared)", f"{ex.shingles_a}, {ex.shingles_b}, {ex.shared_shingles}")
    out.print(figures)
    passages = Table(title=f"{len(ex.passages)} shared passages", show_lines=True, title_justify="left")
    passages.add_column(escape(a), ratio=1, overflow="fold")
    passages.add_column(escape(b), ratio=1, overflow="fold")
    for p in ex.passages:
        passages.add_row(escape(p.a_text), escape(p.b_text))
    out.print(passages)


def main() -> None:  # pragma: no cover - console entry point
    app()


from .cli_index import app as _index_app  # noqa: E402  (sub-commands need the helpers above)

app.add_typer(_index_app, name="index")

from .cli_stories import register as _register_stories  # noqa: E402

_register_stories(app)
