"""One exception tree for everything dedup raises on purpose."""

from __future__ import annotations


class DedupError(Exception):
    """Base class of every error dedup raises deliberately."""


class ParameterError(DedupError, ValueError):
    """A parameter has a value outside its documented range."""


class InputError(DedupError):
    """An input record or file cannot be used (raised in strict mode)."""


class IncompatibleSignatures(DedupError):
    """Signatures made with different parameters were mixed."""
