"""Parameters of each pipeline stage: frozen, validated at construction, no logic.

Every error names the parameter, the bad value and what was expected, so a
mistake made on the command line or in Python reads the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .errors import ParameterError

# Defaults measured on news_cluster (benchmarks/choose_defaults.py, README "Defaults").
DEFAULT_K = 2
DEFAULT_THRESHOLD = 0.5
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1

# Bumped whenever normalisation, tokenisation or shingle hashing changes, so that
# stored signatures from an older version are refused instead of silently mixed.
HASH_VERSION = 1


def _check(ok: bool, name: str, value: object, expected: str) -> None:
    if not ok:
        raise ParameterError(f"{name}={value!r} is invalid: expected {expected}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fraction(name: str, value: float, *, open_low: bool = True) -> None:
    ok = isinstance(value, (int, float)) and (0 < value <= 1 if open_low else 0 <= value <= 1)
    _check(ok, name, value, "a number in (0, 1]" if open_low else "a number in [0, 1]")


@dataclass(frozen=True)
class ReadParams:
    """Where each field lives in the input records, and how strict to be."""

    id_field: str = "id"
    text_field: str = "text"
    title_field: str = "title"
    source_field: str = "source"
    url_field: str = "url"
    published_field: str = "published"
    lang_field: str = "lang"
    strict: bool = False
    max_chars: int = 1_000_000

    def __post_init__(self) -> None:
        _check(_is_int(self.max_chars) and self.max_chars > 0, "max_chars", self.max_chars,
               "a positive integer")
        for name in ("id_field", "text_field"):
            value = getattr(self, name)
            _check(isinstance(value, str) and value != "", name, value, "a non-empty field name")


@dataclass(frozen=True)
class NormalizeParams:
    """Unicode NFKC, case folding, one form for quotes, dashes and spaces; optionally no accents."""

    strip_accents: bool = False


@dataclass(frozen=True)
class ShingleParams:
    """Shingles are k consecutive words (``unit="word"``) or characters (``unit="char"``).

    Shingles never cross a paragraph break; a paragraph shorter than k units
    gives one shingle of all its units, so no text is left unhashed.
    """

    unit: Literal["word", "char"] = "word"
    k: int = DEFAULT_K

    def __post_init__(self) -> None:
        _check(self.unit in ("word", "char"), "unit", self.unit, "'word' or 'char'")
        _check(_is_int(self.k) and 1 <= self.k <= 64, "k", self.k, "an integer from 1 to 64")


@dataclass(frozen=True)
class MinHashParams:
    """``num_perm`` affine permutations ``a*h + b mod 2**32`` drawn as datasketch draws them."""

    num_perm: int = DEFAULT_NUM_PERM
    seed: int = DEFAULT_SEED
    scheme: Literal["affine32"] = "affine32"

    def __post_init__(self) -> None:
        _check(_is_int(self.num_perm) and 1 <= self.num_perm <= 4096, "num_perm", self.num_perm,
               "an integer from 1 to 4096")
        _check(_is_int(self.seed) and 0 <= self.seed < 2**32, "seed", self.seed,
               "an integer from 0 to 2**32 - 1")
        _check(self.scheme == "affine32", "scheme", self.scheme, "'affine32' (datasketch >= 2.0 default)")


@dataclass(frozen=True)
class LSHParams:
    """Banding. ``bands``/``rows`` of 0 mean: derive them from the threshold.

    ``min_recall`` is the least probability that a pair exactly at the threshold
    becomes a candidate; ``max_bucket`` caps the pairs enumerated per bucket.
    """

    min_recall: float = 0.995
    max_bucket: int = 200
    bands: int = 0
    rows: int = 0

    def __post_init__(self) -> None:
        _check(isinstance(self.min_recall, (int, float)) and 0 < self.min_recall < 1, "min_recall",
               self.min_recall, "a number in (0, 1)")
        _check(_is_int(self.max_bucket) and self.max_bucket >= 2, "max_bucket", self.max_bucket,
               "an integer >= 2")
        for name in ("bands", "rows"):
            value = getattr(self, name)
            _check(_is_int(value) and value >= 0, name, value,
                   "a non-negative integer (0: derive from the threshold)")
        _check((self.bands == 0) == (self.rows == 0), "bands/rows", (self.bands, self.rows),
               "both set or both 0")


@dataclass(frozen=True)
class MatchParams:
    """A pair matches when its exact Jaccard >= threshold, or (if set) either containment >= containment."""

    threshold: float = DEFAULT_THRESHOLD
    containment: float | None = None

    def __post_init__(self) -> None:
        _check_fraction("threshold", self.threshold)
        if self.containment is not None:
            _check_fraction("containment", self.containment)


@dataclass(frozen=True)
class RepeatParams:
    """Repeats inside a document: runs of at least ``min_words`` words whose shingles recur in
    order (``min_similarity`` of them, gaps up to ``max_gap``); ``body`` when a run covers
    ``body_share`` of the document. ``clean``: drop body/paragraph repeats before MinHash."""

    clean: bool = True
    min_words: int = 30
    max_gap: int = 8
    min_similarity: float = 0.6
    body_share: float = 0.3

    def __post_init__(self) -> None:
        _check(_is_int(self.min_words) and self.min_words >= 2, "min_words", self.min_words,
               "an integer >= 2")
        _check(_is_int(self.max_gap) and self.max_gap >= 0, "max_gap", self.max_gap, "an integer >= 0")
        _check_fraction("min_similarity", self.min_similarity)
        _check_fraction("body_share", self.body_share)


@dataclass(frozen=True)
class ClusterParams:
    """``connected``: connected components (transitive). ``star``: no chaining, every
    member matches its cluster's representative."""

    method: Literal["connected", "star"] = "connected"

    def __post_init__(self) -> None:
        _check(self.method in ("connected", "star"), "method", self.method, "'connected' or 'star'")


@dataclass(frozen=True)
class Config:
    """All parameters of one run of the pipeline."""

    level: Literal["article", "paragraph"] = "article"
    normalize: NormalizeParams = field(default_factory=NormalizeParams)
    shingle: ShingleParams = field(default_factory=ShingleParams)
    minhash: MinHashParams = field(default_factory=MinHashParams)
    lsh: LSHParams = field(default_factory=LSHParams)
    match: MatchParams = field(default_factory=MatchParams)
    cluster: ClusterParams = field(default_factory=ClusterParams)
    repeats: RepeatParams = field(default_factory=RepeatParams)

    def __post_init__(self) -> None:
        _check(self.level in ("article", "paragraph"), "level", self.level, "'article' or 'paragraph'")
        if self.lsh.bands:
            _check(self.lsh.bands * self.lsh.rows <= self.minhash.num_perm, "bands*rows",
                   self.lsh.bands * self.lsh.rows, f"at most num_perm={self.minhash.num_perm}")
