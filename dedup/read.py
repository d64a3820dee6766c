"""Read stage: JSONL, CSV, Parquet, text files or stdin in, Documents out, every bad record reported.

Files are read as bytes one line at a time and each line is decoded here, so a bad
line costs only that record, memory stays flat on files of millions of lines, and a
single huge line still works.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import gzip
import json
import os
import re
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterator, Mapping, Sequence

from .document import Document, Problem
from .errors import InputError
from .params import ReadParams

__all__ = ["ReadStats", "read_all", "read_documents"]

InputPath = str | os.PathLike

# gzip reports corrupt data with any of these, possibly only halfway through a file.
_READ_ERRORS = (OSError, EOFError, zlib.error)
# A str holds surrogates only from lone "\ud83d"-style JSON escapes; they cannot be encoded later.
_SURROGATE = re.compile("[\ud800-\udfff]")
_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "bool", int: "int",
               float: "float", type(None): "null"}
_MISSING = object()


@dataclass
class ReadStats:
    """What ``read_all`` saw: documents yielded, problems that skipped something, all problems."""

    read: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)


def read_documents(inputs: Sequence[InputPath] | InputPath, params: ReadParams = ReadParams(),
                   on_problem: Callable[[Problem], None] | None = None,
                   stdin: BinaryIO | None = None) -> Iterator[Document]:
    """Yield the documents of each input in order; ``"-"`` is JSONL on ``stdin``.

    A bad record or file is skipped and reported to ``on_problem``; with
    ``params.strict`` the first problem raises ``InputError`` instead.
    """
    if isinstance(inputs, (str, bytes, os.PathLike)):  # one path, not a sequence of characters
        inputs = [inputs]
    reader = _Reader(params, on_problem, stdin)
    for spec in inputs:
        yield from reader.read(os.fsdecode(spec))


def read_all(inputs: Sequence[InputPath] | InputPath, params: ReadParams = ReadParams(),
             stdin: BinaryIO | None = None) -> tuple[list[Document], ReadStats]:
    """Read everything into memory, with the problems collected in the stats."""
    stats = ReadStats()

    def note(problem: Problem) -> None:
        stats.problems.append(problem)
        stats.skipped += problem.skipped

    docs = list(read_documents(inputs, params, note, stdin))
    stats.read = len(docs)
    return docs, stats


class _Reader:
    """State of one read_documents call: ids seen so far (across inputs) and the problem sink."""

    def __init__(self, params: ReadParams, on_problem: Callable[[Problem], None] | None,
                 stdin: BinaryIO | None) -> None:
        self.params = params
        self.on_problem = on_problem
        self.stdin = stdin
        self.seen: dict[str, str] = {}  # id -> where it was first read

    def problem(self, where: str, message: str, record_id: str | None = None,
                skipped: bool = True, what: str = "record") -> None:
        problem = Problem(where, message, record_id, skipped, what)
        if self.params.strict:
            raise InputError(str(problem))
        if self.on_problem is not None:
            self.on_problem(problem)

    def read(self, path: str) -> Iterator[Document]:
        if path == "-":
            stream = self.stdin if self.stdin is not None else sys.stdin.buffer
            yield from self._jsonl("<stdin>", self._lines("<stdin>", lambda: stream, close=False))
            return
        if os.path.isdir(path):
            yield from self._directory(path)
            return
        name, opener = path.lower(), open
        if name.endswith(".gz"):
            name, opener = name[:-3], gzip.open
        if name.endswith(".csv"):
            yield from self._csv(path, self._lines(path, lambda: opener(path, "rb")))
        elif name.endswith((".parquet", ".pq")) and opener is open:
            yield from self._parquet(path, path)
        elif name.endswith(".txt"):
            base = os.path.basename(path)
            rid = base[: len(base) - (7 if opener is gzip.open else 4)]  # drop .txt / .txt.gz
            yield from self._txt(path, rid, opener)
        else:  # .jsonl, .ndjson and anything unknown
            yield from self._jsonl(path, self._lines(path, lambda: opener(path, "rb")))

    # -- sources -------------------------------------------------------------------------------

    def _lines(self, name: str, open_: Callable[[], BinaryIO],
               close: bool = True) -> Iterator[tuple[int, bytes]]:
        """(line number, raw bytes) of each line; a read error ends the file with one problem."""
        try:
            stream = open_()
        except _READ_ERRORS as e:
            self.problem(name, _cannot_read(e), what="file")
            return
        try:
            lines = iter(stream)
            lineno = 0
            while True:
                try:
                    raw = next(lines, None)
                except _READ_ERRORS as e:
                    self.problem(name, _cannot_read(e), what="rest of the file")
                    return
                if raw is None:
                    return
                lineno += 1
                if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8):]
                yield lineno, raw
        finally:
            if close:
                stream.close()

    def _jsonl(self, name: str, lines: Iterator[tuple[int, bytes]]) -> Iterator[Document]:
        for lineno, raw in lines:
            if not raw.strip():
                continue
            where = f"{name}:{lineno}"
            try:  # without the line break, so a cut-off string reads as unterminated
                line = raw.rstrip(b"\r\n").decode("utf-8")
            except UnicodeDecodeError as e:
                self.problem(where, _bad_utf8(e))
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                at = "" if e.msg.endswith(" at") else " at"  # "Unterminated string starting at"
                self.problem(where, f"invalid JSON: {e.msg}{at} column {e.colno}")
                continue
            except ValueError as e:  # e.g. an integer of more than 4300 digits
                self.problem(where, f"invalid JSON: {_one_line(str(e))}")
                continue
            except RecursionError:
                self.problem(where, "invalid JSON: nested too deeply")
                continue
            if not isinstance(obj, dict):
                self.problem(where, f"expected a JSON object, got {_type_name(obj)}")
                continue
            doc = self._document(where, obj)
            if doc is not None:
                yield doc

    def _csv(self, name: str, lines: Iterator[tuple[int, bytes]]) -> Iterator[Document]:
        _lift_csv_field_limit()
        bad: dict[int, str] = {}  # physical line -> UTF-8 error, checked once its row is parsed

        def decoded() -> Iterator[str]:
            # Keep undecodable lines (as surrogates) so quoting stays in step; their row is skipped.
            for lineno, raw in lines:
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    bad[lineno] = _bad_utf8(e)
                    yield raw.decode("utf-8", "surrogateescape")

        reader = csv.reader(decoded())
        header: list[str] | None = None
        start = 1  # physical line where the next row begins
        while True:
            try:
                row = next(reader, None)
            except csv.Error as e:
                self.problem(f"{name}:{start}", f"invalid CSV: {_one_line(str(e))}")
                start = reader.line_num + 1
                continue
            if row is None:
                return
            first, start = start, reader.line_num + 1
            where = f"{name}:{first}"
            errors = [bad.pop(n) for n in range(first, start) if n in bad]
            if header is None:
                if errors:
                    self.problem(where, f"{errors[0]} in the CSV header", what="file")
                    return
                if not row:
                    continue  # blank lines before the header
                header = row
                for key, option in ((self.params.id_field, "id-field"),
                                    (self.params.text_field, "text-field")):
                    if key not in header:
                        self.problem(where, f"missing field {key!r} in the CSV header "
                                     f"(choose another with --{option})", what="file")
                        return
            elif errors:
                self.problem(where, errors[0])
            elif not row:
                continue  # blank line
            elif len(row) != len(header):
                self.problem(where, f"row has {len(row)} fields, the header has {len(header)}")
            else:
                doc = self._document(where, dict(zip(header, row)))
                if doc is not None:
                    yield doc

    def _txt(self, path: str, rid: str, opener: Callable[..., Any] = open) -> Iterator[Document]:
        try:
            with opener(path, "rb") as f:
                data = f.read()
        except _READ_ERRORS as e:
            self.problem(path, _cannot_read(e), what="file")
            return
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            self.problem(path, _bad_utf8(e), rid)
            return
        doc = self._document(path, {"id": rid, "text": text}, "id", "text", optional=False)
        if doc is not None:
            yield doc

    def _parquet(self, name: str, source: Any, row_groups: Sequence[int] | None = None,
                 first_row: int = 1) -> Iterator[Document]:
        """Rows of a Parquet file (a path or an open file) as records, ``name:ROW`` counting rows from 1.

        Needs pyarrow (the ``dask`` extra); without it the file is one reported problem.
        Dates and times become ISO 8601 text, so records stay JSON for ``--keep-first``.
        """
        try:
            import pyarrow.parquet as pq
            from pyarrow import ArrowException
        except ImportError:
            self.problem(name, "cannot read Parquet without pyarrow: pip install 'dedup[dask]'", what="file")
            return
        row = first_row
        try:
            for batch in pq.ParquetFile(source).iter_batches(row_groups=row_groups):
                for record in batch.to_pylist():
                    doc = self._document(f"{name}:{row}", {k: _plain(v) for k, v in record.items()})
                    row += 1
                    if doc is not None:
                        yield doc
        except (*_READ_ERRORS, ArrowException) as e:
            self.problem(name, _cannot_read(e), what="file" if row == first_row else "rest of the file")

    def _directory(self, root: str) -> Iterator[Document]:
        errors: list[OSError] = []
        found = []
        for dirpath, _, filenames in os.walk(root, onerror=errors.append):
            for filename in filenames:
                if filename.lower().endswith(".txt"):
                    full = os.path.join(dirpath, filename)
                    rel = os.path.relpath(full, root).replace(os.sep, "/")
                    found.append((rel, full))
        for e in errors:
            self.problem(e.filename or root, _cannot_read(e), what="file")
        if not found and not errors:  # e.g. a folder of .jsonl files: say so rather than read nothing
            self.problem(root, "no *.txt files below this directory", skipped=False)
        for rel, full in sorted(found):
            yield from self._txt(full, rel[:-4])

    # -- one record ------------------------------------------------------------------------------

    def _document(self, where: str, record: Mapping[str, Any], id_key: str | None = None,
                  text_key: str | None = None, optional: bool = True) -> Document | None:
        """Check one record and build its Document, or report why not and return None."""
        p = self.params
        id_key, text_key = id_key or p.id_field, text_key or p.text_field
        rid = record.get(id_key, _MISSING)
        if rid is _MISSING:
            return self._skip(where, _missing(id_key, "id-field"))
        if isinstance(rid, int) and not isinstance(rid, bool):
            rid = str(rid)
        if not isinstance(rid, str):
            return self._skip(where, f"field {id_key!r} is {_type_name(rid)}, expected a string or integer")
        if rid == "":
            return self._skip(where, f"field {id_key!r} is empty")
        if _SURROGATE.search(rid):
            return self._skip(where, f"field {id_key!r} contains an unpaired surrogate escape")

        text = record.get(text_key, _MISSING)
        if text is _MISSING:
            return self._skip(where, _missing(text_key, "text-field"), rid)
        if not isinstance(text, str):
            return self._skip(where, f"field {text_key!r} is {_type_name(text)}, expected a string", rid)
        if rid in self.seen:
            return self._skip(where, f"duplicate id {rid!r} (first seen at {self.seen[rid]})", rid)
        self.seen[rid] = where

        if not text.isascii() and _SURROGATE.search(text):
            text = _SURROGATE.sub("\ufffd", text)
            self.problem(where, f"field {text_key!r} has unpaired surrogate escapes, replaced by U+FFFD",
                         rid, skipped=False)
        if not text or text.isspace():
            self.problem(where, "empty text", rid, skipped=False)
        if len(text) > p.max_chars:
            self.problem(where, f"text has {len(text):,} characters; only the first {p.max_chars:,} "
                         "are used (--max-chars)", rid, skipped=False)
            text = text[: p.max_chars]

        extra: dict[str, str | None] = {}
        if optional:
            for attr in ("title", "source", "url", "published", "lang"):
                extra[attr] = _optional(record.get(getattr(p, f"{attr}_field")))
        return Document(rid, text, record=record, **extra)

    def _skip(self, where: str, message: str, record_id: str | None = None) -> None:
        self.problem(where, message, record_id)
        return None


def _optional(value: Any) -> str | None:
    """Metadata as a string: missing/null/"" -> None; numbers as written; objects as JSON
    (news APIs send e.g. ``"source": {"id": ..., "name": ...}``)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _plain(value: Any) -> Any:
    """A Parquet value as a JSON value: dates and times as ISO 8601, bytes as UTF-8, other scalars as text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _missing(key: str, option: str) -> str:
    return f"missing field {key!r} (choose another with --{option})"


def _bad_utf8(e: UnicodeDecodeError) -> str:
    return f"not valid UTF-8 (byte 0x{e.object[e.start]:02x} at offset {e.start})"


def _cannot_read(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"cannot read: [Errno {e.errno}] {e.strerror}"  # without the path: 'where' has it
    return f"cannot read: {_one_line(str(e)) or type(e).__name__}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _lift_csv_field_limit() -> None:
    """Allow fields of any size; sys.maxsize overflows a C long on some platforms."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2
