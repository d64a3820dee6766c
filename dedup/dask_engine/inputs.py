"""Inputs as blocks: what one Dask task reads, wherever the files are (any fsspec URL).

A block is a byte range of a JSONL file (lines belong to the block holding their first
byte), a whole CSV or gzip file (neither can be cut at an arbitrary byte), a group of
``.txt`` files, or one Parquet row group. Each block is read with dedup's own reader,
so every record is checked and every problem worded exactly as ``dedup.read`` does;
only line numbers of JSONL blocks after the first are counted from the block start,
and the client adds the lines of the blocks before (:func:`renumber`). Duplicate ids
cannot be seen inside one block: the global id order finds them (``order.py``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Iterator, Sequence

import fsspec
from fsspec.core import has_magic

from ..document import Document, Problem
from ..params import ReadParams
from ..read import _READ_ERRORS, _cannot_read, _Reader

DEFAULT_BLOCKSIZE = 64 * 2**20


@dataclass(frozen=True)
class Block:
    """One partition of the input. ``name`` is what warnings call the file."""

    kind: str  # "jsonl", "csv", "txt", "parquet"
    url: str
    name: str
    start: int = 0
    end: int = -1  # -1: to the end of the file
    compression: str | None = None
    files: tuple[tuple[str, str, str], ...] = ()  # txt: (url, name, id) of each file
    row_group: int = -1
    first_row: int = 1
    size: int = 0  # bytes, to choose a block size

    @property
    def continues(self) -> bool:
        """A JSONL block after the first of its file: its line numbers need the lines before it."""
        return self.kind == "jsonl" and self.start > 0


def _kind(name: str) -> tuple[str, str | None]:
    lower = name.lower()
    compression = None
    if lower.endswith(".gz"):
        lower, compression = lower[:-3], "gzip"
    for ext, kind in ((".csv", "csv"), (".txt", "txt"), (".parquet", "parquet"), (".pq", "parquet")):
        if lower.endswith(ext):
            return kind, compression
    return "jsonl", compression


def plan(inputs: Sequence[str], blocksize: int) -> tuple[list[Block], list[Problem]]:
    """The blocks of ``inputs``, in input order, and the problems met while listing them."""
    blocks: list[Block] = []
    problems: list[Problem] = []
    for spec in inputs:
        spec = os.fspath(spec)
        try:
            fs, path = fsspec.core.url_to_fs(spec)
            if has_magic(spec):
                found = sorted(fs.glob(path))
                if not found:
                    problems.append(Problem(spec, "no files match this pattern", skipped=False))
                for p in found:
                    name = p if _is_local(fs) else fs.unstrip_protocol(p)
                    blocks += _file_blocks(fs, p, name, blocksize, problems)
            elif fs.isdir(path):
                blocks += _directory_blocks(fs, path, spec, blocksize, problems)
            else:
                blocks += _file_blocks(fs, path, spec, blocksize, problems)
        except _READ_ERRORS as e:
            problems.append(Problem(spec, _cannot_read(e), what="file"))
    return blocks, problems


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def _file_blocks(fs, path: str, name: str, blocksize: int, problems: list[Problem]) -> list[Block]:
    kind, compression = _kind(name)
    url = fs.unstrip_protocol(path)
    if kind == "parquet":
        return _parquet_blocks(fs, path, url, name, problems)
    if kind == "txt":
        base = os.path.basename(name.rstrip("/"))
        rid = base[: len(base) - (7 if compression else 4)]  # drop .txt / .txt.gz, as dedup.read does
        return [Block("txt", url, name, compression=compression, files=((url, name, rid),), size=fs.size(path))]
    size = fs.size(path)  # raises for a missing file: reported by plan()
    if kind == "csv" or compression or size <= blocksize:
        return [Block(kind, url, name, compression=compression, size=size)]
    return [Block("jsonl", url, name, start, min(start + blocksize, size), size=min(blocksize, size - start))
            for start in range(0, size, blocksize)]


def _directory_blocks(fs, root: str, name: str, blocksize: int, problems: list[Problem]) -> list[Block]:
    """``.txt`` files below ``root`` (id: relative path without ``.txt``), grouped about ``blocksize`` a block."""
    found = fs.find(root, detail=True)
    files = []
    for path, info in found.items():
        if path.lower().endswith(".txt"):
            rel = os.path.relpath(path, root).replace(os.sep, "/") if _is_local(fs) else path[len(root):].lstrip("/")
            files.append((rel, path, int(info.get("size") or 0)))
    if not files:
        problems.append(Problem(name, "no *.txt files below this directory", skipped=False))
    blocks, group, size = [], [], 0
    for rel, path, nbytes in sorted(files):
        group.append((fs.unstrip_protocol(path), os.path.join(name, rel), rel[:-4]))
        size += nbytes
        if size >= blocksize:
            blocks.append(Block("txt", group[0][0], name, files=tuple(group), size=size))
            group, size = [], 0
    if group:
        blocks.append(Block("txt", group[0][0], name, files=tuple(group), size=size))
    return blocks


def _parquet_blocks(fs, path: str, url: str, name: str, problems: list[Problem]) -> list[Block]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # the reader words this problem
        return [Block("parquet", url, name)]
    try:
        with fs.open(path, "rb") as f:
            meta = pq.ParquetFile(f).metadata
    except (OSError, ValueError) as e:  # pyarrow's errors derive from these
        problems.append(Problem(name, _cannot_read(e), what="file"))
        return []
    blocks, first = [], 1
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        blocks.append(Block("parquet", url, name, row_group=g, first_row=first, size=group.total_byte_size))
        first += group.num_rows
    return blocks or [Block("parquet", url, name)]


class _NeverSeen(dict):
    """The ids-seen map of a block reader: always empty, since duplicates are found globally."""

    def __contains__(self, key: object) -> bool:
        return False

    def __setitem__(self, key: str, value: str) -> None:
        pass


class BlockReader(_Reader):
    """dedup's reader on one block: problems are kept in order instead of reported, and where each
    document was read is kept too (for the warning about a later duplicate)."""

    def __init__(self, params: ReadParams) -> None:
        super().__init__(dataclasses.replace(params, strict=False), None, None)
        self.seen = _NeverSeen()
        self.problems: list[Problem] = []
        self.wheres: list[str] = []
        self.lines = 0  # lines of a JSONL block, blank ones included

    def problem(self, where: str, message: str, record_id: str | None = None, skipped: bool = True,
                what: str = "record") -> None:
        self.problems.append(Problem(where, message, record_id, skipped, what))

    def _document(self, where, record, id_key=None, text_key=None, optional=True):  # noqa: ANN001
        doc = super()._document(where, record, id_key, text_key, optional)
        if doc is not None:
            self.wheres.append(where)
        return doc

    def documents(self, block: Block) -> list[Document]:
        if block.kind == "jsonl" and block.compression is None and (block.start > 0 or block.end >= 0):
            return list(self._jsonl(block.name, self._range_lines(block)))
        opener = _opener(block.url, block.compression)
        if block.kind == "jsonl":
            return list(self._jsonl(block.name, self._counted(self._lines(block.name, opener))))
        if block.kind == "csv":
            return list(self._csv(block.name, self._lines(block.name, opener)))
        if block.kind == "txt":
            return [d for url, name, rid in block.files
                    for d in self._txt(name, rid, lambda _p, _m, u=url: _opener(u, block.compression)())]
        try:
            with _opener(block.url, None)() as f:
                groups = [block.row_group] if block.row_group >= 0 else None
                return list(self._parquet(block.name, f, groups, block.first_row))
        except _READ_ERRORS as e:
            self.problem(block.name, _cannot_read(e), what="file")
            return []

    def _counted(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        for lineno, raw in lines:
            self.lines = lineno
            yield lineno, raw

    def _range_lines(self, block: Block) -> Iterator[tuple[int, bytes]]:
        """(line number in the block, bytes) of each line starting in ``[start, end)``."""
        try:
            f = _opener(block.url, None)()
        except _READ_ERRORS as e:
            self.problem(block.name, _cannot_read(e), what="file")
            return
        with f:
            try:
                if block.start > 0:
                    f.seek(block.start - 1)
                    if f.read(1) != b"\n":
                        f.readline()  # the end of a line that starts in the block before
                while f.tell() < block.end:
                    raw = f.readline()
                    if not raw:
                        return
                    self.lines += 1
                    if self.lines == 1 and block.start == 0 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    yield self.lines, raw
            except _READ_ERRORS as e:
                self.problem(f"{block.name}:{self.lines + 1}", _cannot_read(e), what="rest of the file")


def _opener(url: str, compression: str | None):
    return lambda: fsspec.open(url, "rb", compression=compression).open()


def read_block(block: Block, params: ReadParams) -> tuple[list[Document], list[str], list[Problem], int]:
    """The documents of ``block``, where each was read, the problems met, and (JSONL) its line count."""
    reader = BlockReader(params)
    docs = reader.documents(block)
    return docs, reader.wheres, reader.problems, reader.lines


def renumber(where: str, name: str, offset: int) -> str:
    """``name:LINE`` counted from a block's start -> counted from the file's start."""
    head, _, line = where.rpartition(":")
    if offset and head == name and line.isdigit():
        return f"{name}:{int(line) + offset}"
    return where


def renumber_problem(problem: Problem, name: str, offset: int) -> Problem:
    return dataclasses.replace(problem, where=renumber(problem.where, name, offset))


def line_offsets(blocks: Sequence[Block], lines: Sequence[int]) -> list[int]:
    """For each block, the lines of its file in the blocks before it."""
    offsets, previous, total = [], None, 0
    for block, n in zip(blocks, lines):
        if not block.continues or block.url != previous:
            total = 0
        offsets.append(total)
        total += n
        previous = block.url
    return offsets
