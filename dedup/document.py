"""The record every stage passes along."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Document:
    """One input article. ``record`` keeps the original fields, for ``--keep-first``."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: str | None = None
    lang: str | None = None
    record: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Problem:
    """Something wrong with one input record or file; reported as one line."""

    where: str  # "file:line", "file" or "<stdin>:line"
    message: str
    record_id: str | None = None
    skipped: bool = True  # False: the record was kept (e.g. truncated)
    what: str = "record"  # what was skipped: "record", "file" or "rest of the file"

    def __str__(self) -> str:
        rid = f" (id {self.record_id!r})" if self.record_id is not None else ""
        tail = f"; {self.what} skipped" if self.skipped else ""
        return f"{self.where}{rid}: {self.message}{tail}"
