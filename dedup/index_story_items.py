"""One article as the index's stories see it (:class:`Item`): its language, anchors, time and word counts,
and how they are stored in ``story_docs`` (see :mod:`dedup.index_store`).

:func:`prepare` is pure per document (~0.7 ms an article, a third of an add with stories, most of it
anchors), so :func:`preparing` can hand it to forked processes.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable, Iterator

import numpy as np
import xxhash

from .anchors import anchor_set, detect_language, text_date
from .anchors import warm_up as anchors_warm_up
from .document import Document
from .pipeline import timestamp
from .shingle import code_points, letter_classes
from .stories import is_phrase_key
from .stories_kernels import word_counts
from .workers import forked

__all__ = ["ITEM_COLUMNS", "KIND_LETTER", "LETTER_KIND", "Item", "anchor_hash", "anchors_json",
           "items_from_rows", "prepare", "preparing", "terms_blob", "tokens"]

KIND_LETTER = {"name": "n", "acronym": "a", "code": "c", "phrase": "p", "number": "#", "percent": "%", "date": "d"}
LETTER_KIND = {v: k for k, v in KIND_LETTER.items()}
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Item:
    key: int
    id: str | None  # None for a stored article read for placement (StoryIndex._items)
    lang: str
    ts: float
    anchors: dict[str, str]  # anchor key -> kind letter
    hashes: np.ndarray = field(init=False)  # int64 anchor hashes, sorted
    phrase_key: np.ndarray = field(init=False)  # aligned with hashes: a multi-word key (no weight when linkable)
    phrase_kind: np.ndarray = field(init=False)  # aligned: a phrase anchor (no weight when unique)
    terms: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint32))  # sorted word hashes
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint16))
    story: str | None = None

    def __post_init__(self) -> None:
        self.hashes, self.phrase_key, self.phrase_kind = _anchor_arrays([self.anchors])[0]

    @cached_property
    def tf(self) -> np.ndarray:
        """Sublinear term frequencies, ``1 + log(count)``, aligned with ``terms`` (once: stored items are kept)."""
        return 1 + np.log(self.counts.astype(float))


@lru_cache(maxsize=1 << 16)  # names recur across articles: a stored article's anchors are hashed when read
def anchor_hash(key: str) -> int:
    """XXH64 of an anchor key as a signed 64-bit integer (the ``apost``/``anchor_df`` key)."""
    h = xxhash.xxh64_intdigest(key.encode("utf-8", "surrogatepass"))
    return h - (1 << 64) if h >= 1 << 63 else h


def _text(d: Document) -> str:
    """Title and text, as the batch reads them."""
    if d.title and not d.text.startswith(d.title):
        return f"{d.title}\n\n{d.text}"
    return d.text


_TOKEN = re.compile(r"(?u)\b[^\W\d_]{2,}\b")


def tokens(text: str) -> list[str]:
    """The batch's word tokens: scikit-learn's TfidfVectorizer analyzer with ``strip_accents="unicode"`` and
    the batch's token pattern (lower case, then accents stripped), without importing scikit-learn (~2 s)."""
    return _TOKEN.findall(_folded(text))


def _folded(text: str) -> str:
    """The text as the batch's analyzer tokenises it: lower case, then accents stripped."""
    text = text.lower()
    if not text.isascii():  # only the non-ASCII runs: ASCII is left as it is, and the rest maps char by char
        text = _NON_ASCII.sub(_strip_accents, text)
    return text


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _strip_accents(run: re.Match) -> str:
    return _stripped(run.group())


@lru_cache(maxsize=1 << 16)
def _stripped(run: str) -> str:
    """scikit-learn's ``strip_accents_unicode`` of a run of non-ASCII characters: NFKD, combining characters
    deleted. Per run, not per text, with the same result: NFKD decomposes character by character (its
    reordering moves combining characters only, and they are deleted), and cached, as runs repeat: a text's
    ~100 accented runs cost ~0.05 ms. A new run's characters are tested one by one, as scikit-learn does (a
    ``str.translate`` table of every combining character took 0.35 s to build, at the first accented article
    a process met)."""
    return "".join(c for c in unicodedata.normalize("NFKD", run) if not unicodedata.combining(c))


def _words(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted uint32 word hashes (XXH32 of each of :func:`tokens`, the ``term_df`` key) and their counts;
    the headline (first line) counts twice, as in the batch. Words whose hashes collide count as one.

    Tokens, hashes and counts come from one compiled loop over the folded text's code points
    (:func:`dedup.stories_kernels.word_counts`): through ``re`` and ``Counter`` with a cached hash per distinct
    word they took ~0.3 ms an article, a tenth of an add with stories."""
    head = text.split("\n", 1)[0]
    return word_counts(code_points(_folded(f"{head}\n{text}")), letter_classes())


def warm_up() -> None:
    """Load what :func:`prepare` needs (word lists, tables, the compiled word loop) now: before forking workers,
    which then share it."""
    anchors_warm_up()
    _words("Warm-up café")


def prepare(key: int, doc: Document) -> Item:
    """What stories keep of ``doc`` (stored under ``key``): language, anchors, time, words."""
    text = _text(doc)
    lang = (doc.lang or "").lower().split("-")[0] or detect_language(text)
    anchors = {k: KIND_LETTER.get(a.kind, "n") for k, a in sorted(anchor_set(text, lang).items())}
    ts = timestamp(doc.published)
    if not math.isfinite(ts):
        ts = timestamp(text_date(text))
    terms, counts = _words(text)
    return Item(key, doc.id, lang, ts, anchors, terms, counts)


def _prepare_all(docs: list[Document]) -> list[Item]:
    return [prepare(0, d) for d in docs]


@contextmanager
def preparing(workers: int = 1) -> Iterator[Callable[[list[Document]], Callable[[list[Document]], list[Item]]]]:
    """``start(batch)``, which begins preparing a batch and returns ``take(docs)``: :func:`prepare` (key 0) of
    each of ``docs`` (documents of that batch), in order.

    With ``workers`` > 1, ``start`` hands the batch to that many forked processes (in two shares a process)
    and returns at once, so the caller can place the previous batch meanwhile; ``take`` waits for them. The
    work is pure per document (anchors and words, ~0.7 ms an article, a third of an add with stories), so
    the items do not depend on ``workers``. With one, or where processes cannot be forked, ``take``
    prepares just ``docs``, here.
    """
    with forked(workers, warm_up) as pool:
        if pool is None:
            yield lambda batch: _prepare_all
            return

        def start(batch: list[Document]) -> Callable[[list[Document]], list[Item]]:
            size = max(1, -(-len(batch) // (2 * workers)))
            shares = [pool.submit(_prepare_all, batch[s:s + size]) for s in range(0, len(batch), size)]
            position = {id(d): i for i, d in enumerate(batch)}  # the batch's own objects, not their values

            def take(docs: list[Document]) -> list[Item]:
                items = [item for share in shares for item in share.result()]
                return [items[position[id(d)]] for d in docs]
            return take
        yield start


def terms_blob(item: Item) -> bytes:
    return item.terms.astype("<u4").tobytes() + item.counts.astype("<u2").tobytes()


def _terms_from_blob(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    n = len(blob) // 6
    return (np.frombuffer(blob, "<u4", n).astype(np.uint32), np.frombuffer(blob, "<u2", n, 4 * n).astype(np.uint16))


def anchors_json(anchors: dict[str, str]) -> str:
    text = json.dumps(anchors, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(anchors, separators=(",", ":")) if _SURROGATE.search(text) else text


ITEM_COLUMNS = "s.doc, d.id, s.lang, s.ts, s.story, s.anchors, s.terms"


def items_from_rows(rows: list[tuple]) -> list[Item]:
    """The Items of ``story_docs`` rows (:data:`ITEM_COLUMNS`). ~20 stored articles are read per query at
    1,000,000 indexed: their anchor arrays are made together, not with a dozen numpy calls per article."""
    anchors = [json.loads(r[5]) for r in rows]
    words = [_terms_from_blob(bytes(r[6])) for r in rows]
    items = []
    for (key, id_, lang, ts, story, *_), a, arrays, (terms, counts), tf in zip(
            rows, anchors, _anchor_arrays(anchors), words, _sublinear([c for _, c in words])):
        item = Item.__new__(Item)  # its fields set here, without __post_init__'s per-article numpy calls
        item.key, item.id, item.lang, item.ts, item.anchors, item.story = key, id_, lang, ts, a, story
        item.terms, item.counts = terms, counts
        item.hashes, item.phrase_key, item.phrase_kind = arrays
        item.__dict__["tf"] = tf  # Item.tf, computed for all the rows at once
        items.append(item)
    return items


def _sublinear(counts: list[np.ndarray]) -> list[np.ndarray]:
    """:attr:`Item.tf` of each of ``counts``, with one numpy call for all (each read article's own took a
    tenth of a cold query's scoring)."""
    if not counts:
        return []
    tf = 1 + np.log(np.concatenate(counts).astype(float))
    return np.split(tf, np.cumsum([len(c) for c in counts[:-1]]))


def _anchor_arrays(anchors: list[dict[str, str]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per anchor dict (key -> kind letter), its keys' :func:`anchor_hash` sorted (ties in dict order), and
    aligned with them whether each is a multi-word key and whether a phrase."""
    keys = [k for a in anchors for k in a]
    n = len(keys)
    h = np.fromiter(map(anchor_hash, keys), np.int64, n)
    sizes = [len(a) for a in anchors]
    order = np.lexsort((h, np.repeat(np.arange(len(anchors)), sizes)))  # by dict, then hash; stable
    h = h[order]
    key = np.fromiter(map(is_phrase_key, keys), bool, n)[order]
    kind = np.fromiter((v == "p" for a in anchors for v in a.values()), bool, n)[order]
    ends = np.cumsum(sizes).tolist()
    return [(h[s:e], key[s:e], kind[s:e]) for s, e in zip([0] + ends, ends)]


