"""The record every stage passes along."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import InputError

_OPTIONAL = ("title", "source", "url", "published", "lang")


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

    def __post_init__(self) -> None:
        # Checked here, at the boundary: a non-str text would otherwise fail deep in the hashing.
        if not isinstance(self.id, str):
            raise InputError(f"document id {self.id!r} is {type(self.id).__name__}: expected str")
        if not isinstance(self.text, str):
            raise InputError(f"document {self.id!r}: text is {type(self.text).__name__}: expected str")
        for f in _OPTIONAL:
            v = getattr(self, f)
            if v is not None and not isinstance(v, str):
                raise InputError(f"document {self.id!r}: {f} is {type(v).__name__}: expected str or None")


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
