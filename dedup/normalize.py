"""Normalise text: NFKC, case folding, one form for quotes, dashes and spaces.

Normalisation keeps line structure: the i-th line of the normalised text is
the normalised i-th line of the original (lines are split on ``\\n``, ``\\r\\n``
and ``\\r``), so paragraph numbers found on normalised text point back into the
original. Paragraphs are lines; blank lines are empty paragraphs.
"""

from __future__ import annotations

import re
import unicodedata

from .params import NormalizeParams

_QUOTES = "\"'`\u00ab\u00bb\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2039\u203a\u2032\u2033\u00b4"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
# Characters that are line breaks for str.splitlines() but not for us become spaces, so
# that "\n" is the only break and line numbers agree with split_lines() on the original.
_SPACES = "\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\u00a0\u1680\u180e\u200b\u202f\u205f\u3000\ufeff" + "".join(
    chr(c) for c in range(0x2000, 0x200B))

_FOLD = {**{q: "'" if q in "'`\u2018\u2019\u201a\u201b\u2039\u203a\u2032\u00b4" else '"' for q in _QUOTES},
         **{d: "-" for d in _DASHES}, **{s: " " for s in _SPACES}}
_FOLD = {c: r for c, r in _FOLD.items() if c != r}
FOLDED = frozenset(_FOLD)  # all non-word characters that become non-word ASCII
# A regex touching only the few characters to fold: str.translate with a dict costs
# ~0.15 us per character on non-ASCII text, 30x more than this.
_FOLDABLE = re.compile("[" + re.escape("".join(_FOLD)) + "]")


def _fold(text: str) -> str:
    return _FOLDABLE.sub(lambda m: _FOLD[m.group()], text)
_RUNS_OF_SPACE = re.compile(r" {2,}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the lines of the original text."""
    spans, start = [], 0
    for m in _LINE_BREAK.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def normalize(text: str, params: NormalizeParams = NormalizeParams()) -> str:
    """The normalised text, one line per line of ``text``, each stripped of outer spaces."""
    if "\r" in text:
        text = _LINE_BREAK.sub("\n", text)
    # Quotes first: NFKC would split U+00B4 (used as an apostrophe) into a space and an accent.
    text = _fold(text)
    if not unicodedata.is_normalized("NFKC", text):
        text = _fold(unicodedata.normalize("NFKC", text))
    text = text.casefold()
    if not unicodedata.is_normalized("NFKC", text):  # folding can undo composition ("ß\u0301" -> "ss\u0301")
        text = unicodedata.normalize("NFKC", text)
    if params.strip_accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
        text = unicodedata.normalize("NFC", text)
    if "  " in text:
        text = _RUNS_OF_SPACE.sub(" ", text)
    if " \n" in text or "\n " in text or text[:1] == " " or text[-1:] == " ":
        text = "\n".join(line.strip(" ") for line in text.split("\n"))
    return text
