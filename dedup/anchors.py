"""Language-independent anchors: the names, codes, numbers and dates a story keeps when it is rewritten.

Two outlets reporting the same event in different languages share almost no words,
but they share *anchors*: people and organisations (``Andersen``, ``ByteDance``,
``Financial Times``), acronyms and codes (``EADS``, ``A330``), numbers (``40 billion``
= ``40 miljard`` = ``40.000 millones``), percentages and calendar dates. This module
finds them in the ORIGINAL text (case matters: it tells a name from a word) and maps
each to a key that is the same across languages:

- case folded, accents stripped, a few letters transliterated (``ß`` -> ``ss``, Cyrillic
  to Latin), a small alias table (``US``/``VS``/``USA``/``Verenigde Staten``/``EEUU`` ->
  ``us``), the German/Dutch genitive ``-s`` dropped when the bare form is in the same text
  (``TikToks`` -> ``tiktok``), English ``'s`` dropped;
- numbers read with the document's locale (``3.412`` is 3412 in German, 3.412 in
  English; ``3,412`` the reverse; ``20,1`` and ``20.1`` are always decimals), scaled by a
  following ``million``/``miljard``/``Milliarden``/``millones``... word, ``%`` and
  ``Prozent``/``procent``/``por ciento`` -> ``N%``; integers below 10 are left out;
- dates as ``date:M-D`` from ``1 March``/``March 1``/``1 maart``/``1. März``/``1 de marzo``.

Names versus words: a capitalised word is a name unless ``wordfreq`` says it is a
frequent word of the document's language that is much less frequent elsewhere (German
nouns, Dutch adjectives such as ``Amerikaanse``, English title case); a sentence-initial
capital counts only if the word is rare or also capitalised elsewhere in the text, and
never when the text also has it in lower case. German/Dutch compounds that wordfreq has
never seen (``Wirtschaftsmagazins``) are recognised by a common last part. Runs of two to
four capitalised words (``Financial Times``, ``Northrop Grumman``) also give a phrase
anchor.

Anchor weights (rarity in the corpus) are computed in :mod:`dedup.stories`.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import compress
from typing import Iterable, NamedTuple

import numpy as np
from wordfreq import get_frequency_dict, top_n_list, zipf_frequency

from .shingle import code_points, letter_classes
from .stories_kernels import stopword_hits

# Languages compared to tell a name (similar frequency everywhere, or rare) from a word.
REFERENCE_LANGS = ("en", "de", "nl", "es", "it", "fr")
DETECT_LANGS = ("en", "de", "nl", "es", "it", "fr", "pt")

COMMON_ZIPF = 3.0        # a word at least this frequent in its language ...
COMMON_MARGIN = 1.5      # ... and this much more frequent than the median elsewhere is a word, not a name
FUNCTION_ZIPF = 6.0      # at least this frequent in its language: an article/pronoun; breaks a phrase
RARE_ZIPF = 4.5          # a sentence-initial word rarer than this in its language may be a name
TITLE_RARE_ZIPF = 3.0    # the same for a word of a Title Case line
MIN_NUMBER = 10          # integers below this are too common to be anchors

KINDS = ("name", "acronym", "code", "phrase", "number", "percent", "date")


@dataclass(frozen=True)
class Anchor:
    """One anchor of a text: its cross-language ``key``, its ``kind`` and a surface form as written."""

    key: str
    kind: str
    surface: str


# -- normalisation -------------------------------------------------------------------------------------------

_TRANSLIT = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
             "ĳ": "ij"}
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяієїґ",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r",
                      "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "i", "ye",
                      "yi", "g"]))
_TRANSLIT.update(_CYRILLIC)

# Country / union names and abbreviations across en, nl, de, es, it, fr (keys after fold()).
ALIASES = {
    **dict.fromkeys(["us", "usa", "u s", "u s a", "vs", "v s", "eeuu", "ee uu", "united states", "verenigde staten",
                     "vereinigte staaten", "vereinigten staaten", "estados unidos", "stati uniti", "etats unis", "etats-unis"], "us"),
    **dict.fromkeys(["eu", "ue", "european union", "europese unie", "europaische union", "union europea",
                     "unione europea", "union europeenne"], "eu"),
    **dict.fromkeys(["uk", "vk", "u k", "united kingdom", "verenigd koninkrijk", "vereinigtes konigreich",
                     "grossbritannien", "great britain", "groot brittannie", "gran bretana", "gran bretagna",
                     "reino unido", "regno unito", "royaume uni", "grande bretagne"], "uk"),
    **dict.fromkeys(["un", "vn", "onu", "united nations", "verenigde naties", "vereinte nationen",
                     "naciones unidas", "nazioni unite", "nations unies"], "un"),
    **dict.fromkeys(["nato", "navo", "otan"], "nato"),
    **dict.fromkeys(["beijing", "peking", "pekin", "pechino"], "beijing"),
    **dict.fromkeys(["moscow", "moskou", "moskau", "moscu", "mosca", "moscou"], "moscow"),
    **dict.fromkeys(["germany", "duitsland", "deutschland", "alemania", "germania", "allemagne"], "germany"),
    **dict.fromkeys(["netherlands", "nederland", "niederlande", "paises bajos", "paesi bassi", "pays bas",
                     "holland"], "netherlands"),
    **dict.fromkeys(["spain", "spanje", "spanien", "espana", "spagna", "espagne"], "spain"),
    **dict.fromkeys(["italy", "italie", "italien", "italia"], "italy"),
    **dict.fromkeys(["france", "frankrijk", "frankreich", "francia"], "france"),
    **dict.fromkeys(["russia", "rusland", "russland", "rusia", "russie"], "russia"),
    **dict.fromkeys(["japan", "japon", "giappone"], "japan"),
    **dict.fromkeys(["north korea", "noord korea", "nordkorea", "corea del norte", "corea del nord",
                     "coree du nord"], "north korea"),
    **dict.fromkeys(["south korea", "zuid korea", "sudkorea", "corea del sur", "corea del sud",
                     "coree du sud"], "south korea"),
    **dict.fromkeys(["brussels", "brussel", "brussel", "brussel", "bruxelles", "bruselas"], "brussels"),
    **dict.fromkeys(["london", "londen", "londres", "londra"], "london"),
}
# The longest alias in words, for phrase look-up, and the first words of the multi-word ones.
_ALIAS_WORDS = max(len(k.split()) for k in ALIASES)
_ALIAS_FIRST = frozenset(k.split()[0] for k in ALIASES if " " in k)
_ALIAS_KEYS = frozenset(ALIASES.values())


def fold(text: str) -> str:
    """Case folded, accents stripped, transliterated: the form anchors are compared in.

    It runs on every token of every text (alias look-up): ASCII text is only lower-cased
    (the same result, much faster), the rest is cached (tokens repeat)."""
    return text.lower() if text.isascii() else _fold(text)


@lru_cache(maxsize=1 << 18)
def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(_TRANSLIT.get(c, c) for c in text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=1 << 18)
def anchor_key(surface: str) -> str:
    """The cross-language key of a name or phrase: folded, dots/hyphens as spaces, aliases applied."""
    key = fold(surface)
    key = re.sub(r"[.\-\u2010\u2011]+", " ", key)
    key = re.sub(r"\s+", " ", key).strip()
    return ALIASES.get(key, key)


# -- language ------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _stopwords() -> dict[str, frozenset[str]]:
    return {lang: frozenset(top_n_list(lang, 60)) for lang in DETECT_LANGS}


@lru_cache(maxsize=1)
def _stopword_langs() -> dict[str, tuple[int, ...]]:
    """Each stop word -> the positions in DETECT_LANGS of the languages it is a stop word of."""
    out: dict[str, tuple[int, ...]] = {}
    for i, stop in enumerate(_stopwords().values()):
        for w in stop:
            out[w] = out.get(w, ()) + (i,)
    return out


@lru_cache(maxsize=1)
def _stopword_table() -> tuple[np.ndarray, np.ndarray, int]:
    """The stop words of at most 8 ASCII letters as :func:`~dedup.stories_kernels.stopword_hits` looks them up
    (their bytes packed little-endian into a uint64, sorted, and a bit a language), and the length of the
    longest ASCII one (longer letter runs cannot be one)."""
    ascii = {w: langs for w, langs in _stopword_langs().items() if w.isascii() and w.isalpha()}
    packed = {int.from_bytes(w.encode("ascii"), "little"): langs for w, langs in ascii.items() if len(w) <= 8}
    keys = np.array(sorted(packed), np.uint64)
    masks = np.array([sum(1 << i for i in packed[k]) for k in sorted(packed)], np.int64)
    return keys, masks, max(map(len, ascii), default=0)


def detect_language(text: str, default: str = "en") -> str:
    """The language whose 60 most frequent words occur most often in the first 3,000 characters.

    Words are the letter runs (``[^\\W\\d_]+``), case folded. The runs of ASCII letters are counted in one
    compiled loop (:func:`~dedup.stories_kernels.stopword_hits`); only the others (a non-ASCII letter: ``für``,
    ``más``) are case folded and looked up here, as all were before at ~0.1 ms a text, most of it the regular
    expression."""
    head = text[:3000]
    langs = _stopword_langs()
    keys, masks, longest = _stopword_table()
    hits, other = stopword_hits(code_points(head), letter_classes(), keys, masks, longest, len(DETECT_LANGS))
    hits = hits.tolist()
    for word in filter(langs.__contains__, (head[s:e].casefold() for s, e in zip(other[0::2].tolist(),
                                                                              other[1::2].tolist()))):
        for i in langs[word]:
            hits[i] += 1
    best, best_hits = default, 0
    for lang, h in zip(_stopwords(), hits):  # the first language with the most hits
        if h > best_hits:
            best, best_hits = lang, h
    return best


def warm_up(langs: Iterable[str] = DETECT_LANGS) -> None:
    """Load the word lists and frequency tables now (before forking workers, which then share them), and the
    compiled loop of :func:`detect_language`."""
    detect_language("Warm-up für")
    for lang in langs:
        _frequencies(lang)


def _base_lang(lang: str | None) -> str:
    lang = (lang or "").lower().replace("_", "-").split("-")[0]
    return lang if lang in REFERENCE_LANGS or lang in DETECT_LANGS else "en"


# -- names versus words --------------------------------------------------------------------------------------

# lower-case ASCII and Latin-1 letters (not ß, which case folding changes): wordfreq reads such a word as it is
_PLAIN_WORD = re.compile(r"[a-z\u00e0-\u00f6\u00f8-\u00ff]+")


@lru_cache(maxsize=None)
def _frequencies(lang: str) -> tuple[dict[str, float], dict[float, float]]:
    """wordfreq's frequency table of ``lang`` and the Zipf value of each of its frequencies.

    ``zipf_frequency`` tokenises and normalises its argument first (~50 us a call); for a
    plain lower-case Latin word that is the word itself, so its Zipf value is that of its
    frequency band, read here from one plain word of the band by ``zipf_frequency`` itself.
    """
    freqs = get_frequency_dict(lang)
    zipf_of: dict[float, float] = {}
    for word, freq in freqs.items():
        if freq not in zipf_of and _PLAIN_WORD.fullmatch(word):
            zipf_of[freq] = zipf_frequency(word, lang)
    return freqs, zipf_of


@lru_cache(maxsize=200_000)
def _zipf_slow(word: str, lang: str) -> float:
    return zipf_frequency(word, lang)


def _zipf(word: str, lang: str) -> float:
    """``wordfreq.zipf_frequency(word, lang)``, by table look-up where that gives the same value."""
    if _PLAIN_WORD.fullmatch(word):
        freqs, zipf_of = _frequencies(lang)
        freq = freqs.get(word)
        if freq is None:
            return 0.0
        z = zipf_of.get(freq)
        if z is not None:
            return z
    return _zipf_slow(word, lang)


@lru_cache(maxsize=200_000)
def is_common_word(word: str, lang: str) -> bool:
    """A frequent word of ``lang`` that is much rarer in the other reference languages (not a name)."""
    w = word.casefold()
    own = _zipf(w, lang)
    if own < COMMON_ZIPF:
        return False
    others = sorted(_zipf(w, other) for other in REFERENCE_LANGS if other != lang)
    median = others[len(others) // 2] if len(others) % 2 else (others[len(others) // 2 - 1] + others[len(others) // 2]) / 2
    return own - median >= COMMON_MARGIN


@lru_cache(maxsize=200_000)
def is_compound_noun(word: str, lang: str) -> bool:
    """German/Dutch compound of common words (``Wirtschaftsmagazins``): a common last part of >= 4 letters."""
    if lang not in ("de", "nl") or len(word) < 9:
        return False
    w = word.casefold()
    for cut in range(3, len(w) - 3):
        head, tail = w[:cut], w[cut:]
        for t in (tail, tail[:-1], tail[:-2]):
            if len(t) >= 4 and _zipf(t, lang) >= 3.0 and is_common_word(t, lang):
                if _zipf(head, lang) >= 2.5 or _zipf(head[:-1], lang) >= 2.5 or _zipf(head[:-2], lang) >= 2.5:
                    return True
    return False


def _is_function_word(word: str, lang: str) -> bool:
    return _zipf(word.casefold(), lang) >= FUNCTION_ZIPF


# -- tokens --------------------------------------------------------------------------------------------------

# Words and codes: letters, optionally with digits (A330, G20, MH17); apostrophes and hyphens split.
# re.split with it gives [gap, token, gap, token, ..., gap].
_SPLIT = re.compile(r"([^\W_]+)")
_SENTENCE_END = set(".!?:;\"'\u201c\u201d\u201e\u00ab\u00bb\u2018\u2019()[]\u2026•|-\u2013\u2014")
_JOINERS = frozenset(("-", "'", "\u2019", "\u2010", "\u2011"))  # a token after one of these alone is glued on
_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Z])[A-Z\d]{2,10}$")
_ACRONYM = re.compile(r"^[A-Z]{2,6}s?$")
_INNER_CAPS = re.compile(r"^[A-Za-z]*[a-z][A-Z][A-Za-z]*$")
TITLE_LINE_TOKENS = 25   # a line of more tokens is no headline


def _is_title_case_line(toks: list[str], lang: str) -> bool:
    """An English-style Title Case Headline (German capitalises nouns anyway: never)."""
    if lang == "de" or len(toks) > TITLE_LINE_TOKENS:
        return False
    words = [t for t in toks if len(t) > 3 and t.isalpha()]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)


# -- numbers -------------------------------------------------------------------------------------------------

# A number, ``(?<![\w.,])(\d{1,3}(?:S\d{3})+|\d[\d.,]*\d|\d)`` (S: a no-break or thin space),
# written with the first digit of every branch up front: the regex engine then jumps from
# digit to digit (several times faster). The look-behind after that digit checks the
# character before it, as the one before the number did; the matches are the same.
_NUMBER = re.compile(r"(\d(?<![\w.,]\d)(?:\d{0,2}(?:[\u00a0\u202f\u2009]\d{3})+|[\d.,]*\d|))(?![\w])"
                     r"(?:\s?(%|[^\W\d_]+(?:\s[^\W\d_]+)?))?")
_SCALES = {
    3: ("thousand", "thousands", "duizend", "tausend", "mila", "mille", "mil"),
    6: ("million", "millions", "mln", "mio", "miljoen", "miljoenen", "millionen", "millon", "millones",
        "milione", "milioni"),
    9: ("billion", "billions", "bn", "bln", "miljard", "miljarden", "milliarde", "milliarden", "mrd",
        "miliardo", "miliardi", "milliard", "milliards", "mil millones"),
    12: ("trillion", "trillions", "biljoen", "biljoenen", "billionen", "billon", "billones", "bilione",
         "bilioni"),
}
_SCALE_OF = {w: exp for exp, words in _SCALES.items() for w in words}
_PERCENT = {"%", "percent", "per cent", "procent", "prozent", "por ciento", "per cento", "pour cent", "percento",
            "pct"}
_MONTHS = {}
for _n, _names in enumerate([
        "january januari januar jan enero gennaio janvier jän", "february februari februar feb febrero febbraio fevrier",
        "march maart marz mar marzo mars mrt", "april apr abril aprile avril", "may mei mai mayo maggio",
        "june juni jun junio giugno juin", "july juli jul julio luglio juillet", "august augustus aug agosto aout",
        "september sep sept septiembre settembre septembre", "october oktober okt oct octubre ottobre octobre",
        "november nov noviembre novembre", "december dezember dec dez diciembre dicembre decembre"], start=1):
    for _name in _names.split():
        _MONTHS[_name] = _n
_LONG_MONTHS = {m for m in _MONTHS if len(m) > 3}  # 'mar', 'may', 'mei' alone are words too
_DATE_DM = re.compile(r"\b(\d{1,2})(?:\.|º|er)?\s+(?:de\s+)?([^\W\d_]{3,10})\b")
# ``(?=(x))\1`` matches x without backtracking into it (the word cannot give letters back to
# ``\.?\s+`` anyway): the same matches, a third faster on long texts
_DATE_MD = re.compile(r"\b(?=([^\W\d_]{3,10}))\1\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?!\s*[.,]?\d)")


def _decimal_separator(lang: str) -> str:
    return "." if lang == "en" else ","


def parse_number(raw: str, lang: str = "en") -> Decimal | None:
    """The value of a written number in ``lang``'s conventions; None when unreadable."""
    s = raw.replace("\u00a0", "").replace("\u202f", "").replace("\u2009", "")
    dots, commas = s.count("."), s.count(",")
    try:
        if dots and commas:  # the last separator is the decimal one
            dec = "." if s.rfind(".") > s.rfind(",") else ","
            thou = "," if dec == "." else "."
            return Decimal(s.replace(thou, "").replace(dec, "."))
        if dots + commas == 0:
            return Decimal(s)
        sep = "." if dots else ","
        groups = s.split(sep)
        if len(groups) > 2:  # 1.234.567: thousands
            if all(len(g) == 3 for g in groups[1:]):
                return Decimal("".join(groups))
            return None
        head, tail = groups
        if len(tail) != 3:  # 20,1 / 20.15: a decimal in every locale
            return Decimal(f"{head}.{tail}")
        # 3.412 / 3,412: locale decides
        return Decimal(f"{head}.{tail}") if sep == _decimal_separator(lang) else Decimal(head + tail)
    except InvalidOperation:
        return None


def number_key(value: Decimal) -> str:
    """Canonical text of a number: no exponent, no trailing zeros (``20100000000``, ``20.1``)."""
    value = value.normalize()
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _numbers(text: str, lang: str) -> list[Anchor]:
    out = []
    for m in _NUMBER.finditer(text):
        raw, follow = m.group(1), (m.group(2) or "")
        value = parse_number(raw, lang)
        if value is None:
            continue
        f = fold(follow)
        words = f.split()
        scale = None
        percent = False
        if f in _PERCENT or (words and words[0] in _PERCENT):
            percent = True
        elif f in _SCALE_OF:
            scale = _SCALE_OF[f]
        elif words and words[0] in _SCALE_OF:
            scale = _SCALE_OF[words[0]]
        if scale is not None:
            if scale == 9 and words[0] in ("billion", "billions") and lang in ("de", "nl", "fr"):
                scale = 12  # long scale
            if scale == 3 and words[0] == "mil" and len(words) > 1 and words[1] in ("millones", "millon"):
                scale = 9
            value = value * (Decimal(10) ** scale)
        key = number_key(value)
        if percent:
            out.append(Anchor(key + "%", "percent", m.group(0)))
        elif scale is not None or "." in key or value >= MIN_NUMBER:
            out.append(Anchor(key, "number", m.group(0) if scale is not None else raw))
    return out


@lru_cache(maxsize=4096)
def _date_patterns(months: tuple[str, ...]) -> tuple[re.Pattern, re.Pattern]:
    r"""_DATE_DM and _DATE_MD with the month word limited to ``months`` (the text's month tokens).

    The same matches for those months (a month word is a whole token either way), found
    several times faster than by trying every word of the text. Each pattern starts with a
    digit or a month's first letter, not with ``\b``, so that the regex engine jumps from one
    such character to the next (two to three times faster): ``\b`` before a word character is
    ``(?<!\w\w)`` after it."""
    alt = "|".join(re.escape(m) for m in months)
    first_letter_alt = "|".join(re.escape(m[0]) + r"(?<!\w\w)" + re.escape(m[1:]) for m in months)
    return (re.compile(r"(\d(?<!\w\w)\d?)(?:\.|º|er)?\s+(?:de\s+)?(" + alt + r")\b"),
            re.compile(r"(" + first_letter_alt + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?!\s*[.,]?\d)"))


def _dates(text: str, months: tuple[str, ...] | None = None) -> list[Anchor]:
    """Day-month dates of ``text``; ``months``: its tokens that fold to a month name, when known."""
    day_month, month_day = (_DATE_DM, _DATE_MD) if months is None else _date_patterns(months)
    out = []
    for m in day_month.finditer(text):
        month = fold(m.group(2))
        day = int(m.group(1))
        if month in _LONG_MONTHS and 1 <= day <= 31:
            out.append(Anchor(f"date:{_MONTHS[month]}-{day}", "date", m.group(0)))
    for m in month_day.finditer(text):
        month = fold(m.group(1))
        day = int(m.group(2))
        if month in _LONG_MONTHS and 1 <= day <= 31:
            out.append(Anchor(f"date:{_MONTHS[month]}-{day}", "date", m.group(0)))
    return out


_FULL_MDY = re.compile(r"\b([^\W\d_]{3,10})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_FULL_DMY = re.compile(r"\b(\d{1,2})(?:\.|º|er)?\s+(?:de\s+)?([^\W\d_]{3,10})\.?,?\s+(?:(?:de|del)\s+)?(\d{4})\b")
_FULL_DASH = re.compile(r"\b(\d{1,2})[-/ ]([^\W\d_]{3,10})[-/ ](\d{4}|\d{2})\b")
_FULL_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
DATELINE_CHARS = 400     # a dateline is looked for in this many characters from the start


def _ymd(year: int, month: int, day: int) -> str | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def text_date(text: str, head: int = DATELINE_CHARS) -> str | None:
    """The first full calendar date (with a year) in the first ``head`` characters, as ``YYYY-MM-DD``.

    A dateline (``May 28, 2009``, ``28-May-09``, ``28 de mayo del 2009``, ``28 maggio 2009``,
    ``2009-05-28``): a fallback for a missing publication date. None when there is none.
    """
    part = text[:head]
    found: list[tuple[int, str]] = []
    for m in _FULL_ISO.finditer(part):
        d = _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            found.append((m.start(), d))
    for rx, order in ((_FULL_MDY, "mdy"), (_FULL_DMY, "dmy"), (_FULL_DASH, "dmy")):
        for m in rx.finditer(part):
            if order == "mdy":
                month, day, year = m.group(1), m.group(2), m.group(3)
            else:
                day, month, year = m.group(1), m.group(2), m.group(3)
            mon = _MONTHS.get(fold(month))
            if mon is None:
                continue
            d = _ymd(int(year), mon, int(day))
            if d:
                found.append((m.start(), d))
    return min(found)[1] if found else None


# -- names ---------------------------------------------------------------------------------------------------

class _Static(NamedTuple):
    """What one token says about itself in a language, whatever the text around it."""

    kind: str | None        # 'name', 'acronym', 'code', or None; final unless ``contextual``
    contextual: bool        # a capitalised word: a name unless the text says otherwise (see _kind)
    folded: str             # the token case folded
    zipf: float             # its frequency in the language (contextual tokens only)
    phrase_ok: bool         # may be part of a phrase run (Financial Times), joins aside


@lru_cache(maxsize=1 << 18)
def _static(w: str, lang: str) -> _Static:
    """The text-independent part of telling a name from a word (cached: tokens repeat across texts)."""
    folded = w.casefold()
    phrase_ok = w[:1].isupper() and w.isalpha() and not w.isupper() and not _is_function_word(w, lang)

    def final(kind: str | None) -> _Static:
        return _Static(kind, False, folded, 0.0, phrase_ok)

    if len(w) < 2 or w.isdigit():
        return final(None)
    if _CODE.match(w) and not w[0].isdigit():
        return final("code")
    if any(c.isdigit() for c in w):
        return final(None)
    if _ACRONYM.match(w) and sum(c.isupper() for c in w) >= 2:
        # all-caps headline words ('BREAKING') are words, not acronyms
        return final(None if len(w) >= 5 and is_common_word(w.rstrip("s"), lang) else "acronym")
    if _INNER_CAPS.match(w):
        return final("name")
    if not w[0].isupper() or (w.isupper() and len(w) > 6):
        return final(None)
    key = anchor_key(w)
    if key in _ALIAS_KEYS and key != folded or folded in ALIASES:
        return final("name")
    if is_common_word(w, lang) or _is_function_word(w, lang):
        return final(None)
    if is_compound_noun(w, lang):
        return final(None)
    return _Static("name", True, folded, _zipf(folded, lang), phrase_ok)


@lru_cache(maxsize=1 << 18)
def _anchor(surface: str, kind: str) -> Anchor:
    """The anchor of a name, acronym, code or phrase as written (cached: the same names recur)."""
    return Anchor(anchor_key(surface), kind, surface)


def _line_names(toks: list[str], gaps: list[str], lo: int, hi: int, lang: str, title: bool,
                lower_seen: set[str], cap_noninitial: set[str], cands: list[int], alias_at: list[int]) -> list[Anchor]:
    """Name, acronym, code and phrase anchors of tokens ``lo:hi`` (one line), then its written-out aliases.

    ``gaps[k]`` is the text before token ``k``. A token all in lower case (or all digits) is
    never an anchor nor part of a phrase, so only the others, at ``cands``, are looked at; a
    skipped token ends a phrase run (the next one is not adjacent). A capitalised word is no
    name when the text also has it in lower case, nor when it only starts sentences (or is in
    a Title Case line) and is common enough in the language. ``alias_at``: the tokens that
    are first words of multi-word aliases.
    """
    out: list[Anchor] = []
    run: list[int] = []
    rare = TITLE_RARE_ZIPF if title else RARE_ZIPF

    def flush() -> None:
        if 2 <= len(run) <= 4 and not title:
            out.append(_anchor(" ".join(toks[j] for j in run), "phrase"))
        run.clear()

    for k in cands:
        t, gap = toks[k], gaps[k]
        if run and run[-1] != k - 1:
            flush()
        st = _static(t, lang)
        initial = k == lo or (gap not in _JOINERS and gap.strip()[-1:] in _SENTENCE_END)
        kind = st.kind
        if st.contextual and (st.folded in lower_seen or (
                (initial or title) and st.folded not in cap_noninitial and st.zipf >= rare)):
            kind = None
        if kind is not None:
            surface = t[:-1] if kind == "acronym" and t.endswith("s") and t[:-1].isupper() else t  # CEOs -> CEO
            out.append(_anchor(surface, kind))
        eligible = (st.phrase_ok and not (k > lo and gap in _JOINERS) and not (k + 1 < hi and gaps[k + 1] in _JOINERS)
                    and not (lang == "de" and kind is None))  # German capitalises nouns: only names make a phrase
        if not eligible:
            if run:  # (most tokens: no call)
                flush()
            continue
        if run and (initial or len(gap) != 1):
            flush()
        if not run and initial and kind is None:
            continue  # a phrase starts at a name, or mid-sentence
        run.append(k)
    flush()
    for k in alias_at:  # multi-word aliases written out (Verenigde Staten, Estados Unidos)
        for n in range(2, min(_ALIAS_WORDS, hi - k) + 1):
            key = " ".join(fold(toks[j]) for j in range(k, k + n))
            if key in ALIASES:
                out.append(Anchor(ALIASES[key], "name", " ".join(toks[k:k + n])))
    return out


# Most distinct tokens of a text are "plain": lower-case ASCII letters only. For those
# ``casefold()`` and ``fold()`` change nothing and every test below is known (lower case,
# alphabetic, no capital), so they are handled as a set and only the others one by one.

def _non_plain(tokens: set[str]) -> set[str]:
    """The tokens that are not plain, ``[a-z]+`` (ASCII, alphabetic and without a capital is that)."""
    return {t for t in tokens if not (t.isascii() and t.isalpha() and t.islower())}


def _lower_words(others: set[str]) -> set[str]:
    """Case folded, the words of ``others`` written in lower case (``iPhone`` is a name, not one)."""
    return {t.casefold() for t in others
            if t[:1].islower() and t.isalpha() and (t.islower() or not _INNER_CAPS.match(t))}


def _positions(toks: list[str], wanted: set[str]) -> list[int]:
    """The indices of the tokens that are in ``wanted``, in order (found in C)."""
    return list(compress(range(len(toks)), map(wanted.__contains__, toks)))


def _between(positions: list[int], lo: int, hi: int) -> list[int]:
    """The sorted ``positions`` in ``lo:hi``."""
    return positions[bisect_left(positions, lo):bisect_left(positions, hi)]


def _cap_noninitial(toks: list[str], gaps: list[str], lines: list[tuple[int, int]], titles: list[bool],
                    cands: list[int]) -> set[str]:
    """Case folded, the capitalised words that occur mid-sentence (Title Case lines aside).

    A capitalised token is neither all lower case nor all digits (no character is both upper
    case and a digit): it is one of ``cands``."""
    out: set[str] = set()
    for (lo, hi), title in zip(lines, titles):
        if not title:
            out.update(toks[k].casefold() for k in _between(cands, lo + 1, hi)
                       if toks[k][:1].isupper() and (gaps[k] in _JOINERS or gaps[k].strip()[-1:] not in _SENTENCE_END))
    return out


_FOLD_TARGETS = _ALIAS_FIRST | _LONG_MONTHS


def _alias_firsts_and_months(plain: set[str], others: set[str]) -> tuple[set[str], list[str]]:
    """The tokens that are first words of multi-word aliases, and those that are month names."""
    alias_first, months = set(), []
    # a plain word is its own fold(): only those that are alias words or months can count
    for t in (plain & _FOLD_TARGETS) | others:
        f = fold(t)
        if f in _ALIAS_FIRST:
            alias_first.add(t)
        if f in _LONG_MONTHS and 3 <= len(t) <= 10 and t.isalpha():
            months.append(t)
    return alias_first, months


def extract_anchors(text: str, lang: str | None = None) -> list[Anchor]:
    """Every anchor occurrence of ``text`` in order of kind then position (keys may repeat).

    Names come line by line (a line's phrases and aliases with it), then numbers, then dates.
    """
    lang = _base_lang(lang) if lang else detect_language(text)
    parts = _SPLIT.split(text)
    toks, gaps = parts[1::2], parts[0::2]  # gaps[k] precedes toks[k] (gaps has one more, at the end)
    starts = [0] + [k for k in range(1, len(toks)) if "\n" in gaps[k]]
    lines = [(lo, hi) for lo, hi in zip(starts, starts[1:] + [len(toks)]) if hi > lo]
    titles = [hi - lo <= TITLE_LINE_TOKENS and _is_title_case_line(toks[lo:hi], lang) for lo, hi in lines]
    plain = set(toks)
    others = _non_plain(plain)
    plain -= others  # in place: the others are few
    # the tokens that may be anchors: not all lower case nor all digits (so never plain)
    cands = _positions(toks, {t for t in others if not (t.islower() or t.isdigit())})
    cap_noninitial = _cap_noninitial(toks, gaps, lines, titles, cands)
    alias_first, months = _alias_firsts_and_months(plain, others)
    alias_at = _positions(toks, alias_first) if alias_first else []
    lower_seen = plain  # case folded, the words written in lower case (plain is not needed any more)
    lower_seen |= _lower_words(others)
    names: list[Anchor] = []
    for (lo, hi), title in zip(lines, titles):
        names += _line_names(toks, gaps, lo, hi, lang, title, lower_seen, cap_noninitial,
                             _between(cands, lo, hi), _between(alias_at, lo, hi))
    names = _drop_genitives(names)
    # a date's month is a whole token of the text: without one, the date patterns cannot match
    dates = _dates(text, tuple(sorted(months))) if months else []
    return names + _numbers(text, lang) + dates


def _drop_genitives(names: list[Anchor]) -> list[Anchor]:
    """``TikToks`` -> ``tiktok``, ``Trumps`` -> ``trump`` when the bare form is an anchor of the same text."""
    keys = {a.key for a in names}
    out = []
    for a in names:
        key = a.key
        if a.kind in ("name", "acronym") and len(key) > 3 and key.endswith("s") and key[:-1] in keys:
            key = key[:-1]
        out.append(Anchor(key, a.kind, a.surface) if key != a.key else a)
    return out


def anchor_set(text: str, lang: str | None = None) -> dict[str, Anchor]:
    """Distinct anchors of ``text``: key -> the first occurrence (kind and surface form)."""
    out: dict[str, Anchor] = {}
    for a in extract_anchors(text, lang):
        out.setdefault(a.key, a)
    return out


def keys_of(texts: Iterable[tuple[str, str | None]]) -> list[list[str]]:
    """Sorted distinct anchor keys of each (text, lang)."""
    return [sorted(anchor_set(t, lang)) for t, lang in texts]
