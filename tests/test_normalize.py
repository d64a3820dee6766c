"""Normalisation: NFKC, case folding, one form for quotes/dashes/spaces, line structure kept."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.normalize import normalize, split_lines
from dedup.params import NormalizeParams

STRIP = NormalizeParams(strip_accents=True)

DOUBLE_QUOTES = ['"', "\u2033", "\u00ab", "\u00bb", "\u201c", "\u201d", "\u201e", "\u201f", "\uff02"]
SINGLE_QUOTES = ["'", "`", "\u00b4", "\u2018", "\u2019", "\u201a", "\u201b", "\u2039", "\u203a", "\u2032", "\uff07"]
DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\u2e3a", "\u2e3b",
          "\ufe58", "\ufe63", "\uff0d"]
HORIZONTAL_SPACES = [" ", "\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u00a0", "\u1680", "\u2000",
                     "\u2003", "\u2007", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b",
                     "\ufeff"]

# What hypothesis draws from: all of Unicode, plus a dense mix of the characters that matter here.
SPECIAL = (DOUBLE_QUOTES + SINGLE_QUOTES + DASHES + HORIZONTAL_SPACES
           + ["\n", "\r", "\r\n", "a", "B", "ß", "é", "e\u0301", "\ufb01", "\uff21", "İ", "Σ", "x", "1", "½", "😀"])
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.lists(
    st.sampled_from(SPECIAL), max_size=40).map("".join)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def line_breaks(text: str) -> int:
    return len(re.findall(r"\r\n|\r|\n", text))


# -- single rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("\ufb01nance", "finance"),           # ligature fi
    ("\ufb02ow", "flow"),                 # ligature fl
    ("\uff21\uff22\uff23\uff11\uff12", "abc12"),  # fullwidth letters and digits
    ("x\u00b2", "x2"),                    # superscript
    ("\u2460", "1"),                      # circled digit
    ("\u2163", "iv"),                     # roman numeral
    ("Caf\u0065\u0301", "caf\u00e9"),     # composed (NFKC includes canonical composition)
])
def test_nfkc(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Straße", "strasse"),
    ("STRASSE", "strasse"),
    ("ẞ", "ss"),
    ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),
    ("Ærø ÅS", "ærø ås"),
    ("ÉÉN", "één"),
])
def test_casefold(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("variants", [
    ("Straße", "STRASSE", "strasse", "STRAẞE"),
    ("σίσυφος", "ΣΊΣΥΦΟΣ", "Σίσυφος"),   # final sigma folds like sigma
    ("Müller", "MÜLLER", "müller"),
])
def test_case_variants_normalise_alike(variants):
    assert len({normalize(v) for v in variants}) == 1


@pytest.mark.parametrize("quote", DOUBLE_QUOTES)
def test_double_quotes_unified(quote):
    assert normalize(f"a {quote}b{quote} c") == 'a "b" c'


@pytest.mark.parametrize("quote", SINGLE_QUOTES)
def test_single_quotes_unified(quote):
    assert normalize(f"zo{quote}n") == "zo'n"


@pytest.mark.parametrize("dash", DASHES)
def test_dashes_unified(dash):
    assert normalize(f"1990{dash}2000") == "1990-2000"
    assert normalize(f"a {dash} b") == "a - b"


@pytest.mark.parametrize("space", HORIZONTAL_SPACES)
def test_every_space_kind_becomes_one_space(space):
    assert normalize(f"a{space}b") == "a b"
    assert normalize(f"a {space}{space}  b") == "a b"
    assert normalize(f"{space}a{space}") == "a"


def test_whitespace_runs_collapse_and_lines_are_stripped():
    assert normalize("  The \t quick\u00a0\u00a0 brown   fox  ") == "the quick brown fox"
    assert normalize(" a  b \n\t c \n\n   ") == "a b\nc\n\n"


@pytest.mark.parametrize("raw, expected", [
    ("a\r\nb", "a\nb"), ("a\rb", "a\nb"), ("a\nb", "a\nb"), ("a\r\n\r\nb", "a\n\nb"),
    ("a\r\rb", "a\n\nb"), ("a\n\rb", "a\n\nb"), ("\r\n", "\n"), ("x\r", "x\n"),
])
def test_line_breaks_become_newlines(raw, expected):
    assert normalize(raw) == expected


def test_strip_accents_option():
    text = "Café naïve façade één Ångström Łódź"
    assert normalize(text) == "café naïve façade één ångström łódź"
    assert normalize(text, STRIP) == "cafe naive facade een angstrom łodz"  # ł has no decomposition
    # other rules still apply with the option
    assert normalize("\ufb01 Straße \u201cé\u201d\u2014x", STRIP) == 'fi strasse "e"-x'
    # non-Latin letters without combining marks are untouched
    assert normalize("中文 日本語", STRIP) == "中文 日本語"


def test_empty_and_blank():
    assert normalize("") == ""
    assert normalize("   ") == ""
    assert normalize("\n\n") == "\n\n"


# -- properties -----------------------------------------------------------------------------


@FAST
@given(texts, st.booleans())
def test_line_count_is_preserved(text, strip_accents):
    out = normalize(text, NormalizeParams(strip_accents))
    assert out.count("\n") == line_breaks(text)
    # "\n" is the only line break left: splitlines() agrees with split("\n")
    if out:
        assert out.splitlines() == (out[:-1] if out.endswith("\n") else out).split("\n")


@FAST
@given(texts, st.booleans())
def test_output_has_one_form_for_spaces_quotes_and_dashes(text, strip_accents):
    out = normalize(text, NormalizeParams(strip_accents))
    assert "  " not in out
    for line in out.split("\n"):
        assert line == line.strip(" ")
    forbidden = set(HORIZONTAL_SPACES + DOUBLE_QUOTES + SINGLE_QUOTES + DASHES) - {" ", '"', "'", "-"}
    assert not forbidden & set(out)
    assert unicodedata.normalize("NFKC", out.casefold()) == out  # case-folded (and composed again)
    if strip_accents:
        assert not any(unicodedata.combining(c) for c in out)


@FAST
@given(texts, st.booleans())
def test_each_line_is_the_normalised_line_of_the_original(text, strip_accents):
    p = NormalizeParams(strip_accents)
    out_lines = normalize(text, p).split("\n")
    spans = split_lines(text)
    assert len(out_lines) == len(spans)
    for (start, end), line in zip(spans, out_lines):
        assert normalize(text[start:end], p) == line


@FAST
@given(texts)
def test_line_break_style_does_not_matter(text):
    unix = text.replace("\r\n", "\n").replace("\r", "\n")
    assert normalize(unix.replace("\n", "\r\n")) == normalize(unix) == normalize(unix.replace("\n", "\r"))


# -- split_lines ------------------------------------------------------------------------------


def test_split_lines_examples():
    text = "ab\r\ncd\ref\n\ngh"
    spans = split_lines(text)
    assert [text[s:e] for s, e in spans] == ["ab", "cd", "ef", "", "gh"]
    assert spans == [(0, 2), (4, 6), (7, 9), (10, 10), (11, 13)]
    assert split_lines("") == [(0, 0)]
    assert split_lines("x\n") == [(0, 1), (2, 2)]


@FAST
@given(texts)
def test_split_lines_spans_point_into_the_original(text):
    spans = split_lines(text)
    assert len(spans) == line_breaks(text) + 1
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    pieces = [text[s:e] for s, e in spans]
    assert all("\n" not in p and "\r" not in p for p in pieces)
    # between consecutive spans lies exactly one line break
    for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
        assert s0 <= e0 < s1 <= e1
        assert text[e0:s1] in ("\n", "\r", "\r\n")
    # the spans and the breaks between them are the whole text
    rebuilt = "".join(text[s:e] + text[e:n] for (s, e), (n, _) in zip(spans, spans[1:] + [(len(text), 0)]))
    assert rebuilt == text
    assert pieces == re.split(r"\r\n|\r|\n", text)


# -- regressions (bugs in an earlier version of normalize) ----------------------------------------


@pytest.mark.parametrize("word", ["zo\u00b4n", "geht\u00b4s", "it\u00b4s"])
def test_acute_accent_used_as_apostrophe_becomes_apostrophe(word):
    # U+00B4 is in the quote table, but NFKC turns it into " \u0301": it must be folded before NFKC
    assert normalize(word) == word.replace("\u00b4", "'")
    assert normalize(word, STRIP) == word.replace("\u00b4", "'")


def test_double_prime_is_a_double_quote():
    # NFKC would turn U+2033 into two primes, i.e. two apostrophes
    assert normalize("a \u2033b\u2033") == 'a "b"'


@pytest.mark.parametrize("raw", ["stra\u00df\u0301e", "\u1e9e\u0301", "\u0130stanbul", "\u01f0", "\u0390"])
def test_normalize_is_idempotent_after_case_folding(raw):
    # case folding can undo composition ("ß\u0301" -> "ss\u0301"); the result must still be NFKC
    once = normalize(raw)
    assert normalize(once) == once
    assert unicodedata.is_normalized("NFKC", once)


@FAST
@given(texts, st.booleans())
def test_normalize_is_idempotent(text, strip_accents):
    p = NormalizeParams(strip_accents)
    once = normalize(text, p)
    assert normalize(once, p) == once
