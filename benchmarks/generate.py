"""Seeded generator of realistic news-like articles, with syndicated near-copies.

``generate(n, seed=0, words=500)`` returns ``n`` dicts ``{id, text, published,
source, copy_of}``:

* words are drawn from a fixed Zipf-Mandelbrot vocabulary (p(rank) ~ 1/(rank+2.7)):
  ~200 English function and common words at the top, then English content words,
  Dutch and German words (with ä ö ü ë é ß ij), names, acronyms, numbers and
  contractions spread over the next few thousand ranks, and a long tail of
  syllable-built words (some with accents) -- 50,000 types in all;
* sentences of 6-27 words start with a capital and end in ``.``, ``?`` or ``!``;
  about 7% of words carry a comma and ~8% of sentences are in curly quotes;
* 3-8 paragraphs per article, separated by ``"\\n\\n"``; article length is
  uniform in [0.8, 1.2] x ``words``;
* about 10% of the articles are syndicated copies of another article of the
  same batch: 2-10% of their words edited (replaced, deleted or inserted, in
  equal shares), published 10 minutes to 2 days after the original by another
  outlet, with a dateline (``"BERLIN (dpa) - "``) or a boilerplate line added.
  ``copy_of`` is the original's id (``None`` for originals) -- ground truth.

Everything is vectorised with numpy over batches of 2,000 articles (one
``str.join`` per batch renders the text), so 100k articles take seconds.
Deterministic: the vocabulary comes from a fixed generator, batch b from
``np.random.default_rng([seed, b])``; no Python ``hash()``, no global state.

Run: ``python benchmarks/generate.py N [--seed S] [--words W] [--out file.jsonl]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import lru_cache

import numpy as np

BATCH = 2000
COPY_SHARE = 0.10
VOCAB_SIZE = 50_000
ZIPF_SHIFT = 2.7

# Most frequent English words, roughly in frequency order.
_ENGLISH_TOP = """
the of and to a in that is was he for it with as his on be at by i this had not are but from or have an
they which one you were her all she there would their we him been has when who will more no if out so
said what up its about into than them can only other new some could time these two may then do first any
my now such like our over man me even most made after also did many before must through back years where
much your way well down should because each just those people mr how too little state good very make world
still own see men work long get here between both life being under never day same another know while last
might us great old year off come since against go came right used take three says government city
""".split()

_ENGLISH_CONTENT = """
president minister police company market percent million billion report officials country week month
police court election party vote council budget economy health hospital school children family water
energy prices oil gas climate weather storm flood fire border military troops war peace talks deal
agreement trade tariffs exports imports bank interest rates inflation jobs workers union strike
investors shares stock growth quarter profit losses sales customers technology software data internet
phone users security attack investigation charges trial judge lawyer prison sentence victims crash
train airport flight passengers road traffic accident injured killed dead survivors rescue emergency
spokesman statement announced confirmed denied warned expected according reported added told asked
earlier later yesterday today tomorrow monday tuesday wednesday thursday friday saturday sunday morning
evening night national international european federal regional local public private official former
senior chief executive director chairman leader opposition coalition parliament senate congress
campaign candidate voters polls results minister's don't it's won't can't isn't didn't we're they're
so-called long-term well-known e-mail follow-up u.s. u.k. covid-19 co-founder
""".split()

_DUTCH_GERMAN = """
één twee drie het een niet ook maar voor naar zijn worden heeft hebben wordt werd kabinet gemeente
regering minister-president ziekenhuis politie rechter onderzoek verkiezingen partij tweede kamer
ministerie oppositie overheid belasting woningmarkt huurprijzen stikstof boeren koningshuis burgemeester
misschien natuurlijk geïnteresseerd reünie ideeën financiële coördinatie privé café crème à la
der die das und ist nicht auch für mit über während größer straße grüße fußball bürgermeister
bundesregierung bundestag außerdem müssen können würde hätte schön zürich münchen köln düsseldorf
österreich gemäß maßnahmen öffentlichkeit äußerte übernahme überraschend verkehrsminister führung
ermittlungen staatsanwaltschaft wirtschaft unternehmen mitarbeiter ärzte krankenhäuser universität
ijsselmeer ijs zeeën geëvalueerd beëindigd één-op-één café's
""".split()

_NAMES = """
Trump Biden Macron Scholz Merz Rutte Schoof Wilders Timmermans Omtzigt Yeşilgöz Söder Baerbock Habeck
Lindner Müller Schäfer Jäger Weiß Zelensky Putin Xi Modi Lula Musk Bezos Forbes Reuters Bloomberg Amsterdam
Rotterdam Utrecht Berlin Hamburg Frankfurt Brussels London Paris Washington Beijing Moscow Kyiv Gaza
Israel Ukraine Russia China Germany Netherlands Belgium France Europe America Microsoft Google Apple
Amazon Shell Philips Siemens Volkswagen BMW Airbus Boeing Tesla Nvidia ASML Heineken Unilever
EU NATO UN IMF ECB CEO GDP AI NASA WHO OPEC SPD CDU VVD PVV NSC D66
""".split()

_NUMBERS = """
2024 2023 2025 2022 2019 1990 10 12 15 20 25 30 40 50 100 200 500 1,000 1,500 10,000 3.5 2.1 0.25
1.2 7.8 4% 12% 30% 50% €2 $3 $1.5 £10 24-hour 9/11 5g 3d
""".split()

# Syllable parts of the long tail: (text, weight). Accented vowels and ß are rare, as in news text.
_ONSETS = [("", 6), ("b", 3), ("br", 1), ("d", 3), ("dr", 1), ("f", 2), ("g", 2), ("gr", 1), ("h", 3), ("k", 3),
           ("kl", 1), ("l", 3), ("m", 3), ("n", 3), ("p", 2), ("pr", 1), ("r", 3), ("s", 3), ("st", 2), ("sch", 1),
           ("t", 3), ("tr", 1), ("v", 2), ("w", 2), ("z", 1), ("ch", 1), ("sp", 1), ("j", 1), ("c", 2)]
_VOWELS = [("a", 8), ("e", 10), ("i", 6), ("o", 6), ("u", 3), ("ee", 1), ("oo", 1), ("ei", 1), ("au", 1),
           ("ie", 1), ("ij", 0.5), ("ä", 0.4), ("ö", 0.3), ("ü", 0.4), ("é", 0.2), ("ë", 0.1), ("y", 0.5)]
_CODAS = [("", 8), ("n", 3), ("r", 3), ("l", 2), ("s", 2), ("t", 2), ("nd", 1), ("rt", 1), ("ng", 1), ("st", 1),
          ("k", 1), ("m", 1), ("ch", 0.5), ("ß", 0.1), ("ck", 0.5)]
_SUFFIXES = [("", 10), ("en", 2), ("er", 2), ("ing", 2), ("ed", 2), ("s", 3), ("tion", 1), ("heid", 0.3),
             ("ung", 0.3), ("ly", 1), ("ment", 0.5), ("ist", 0.3)]

_OUTLETS = ("Reuters", "AP", "AFP", "dpa", "ANP", "Bloomberg", "Belga", "APA", "The Daily Record",
            "De Volkskrant", "NRC", "Süddeutsche Zeitung", "Die Welt", "Le Monde", "The Guardian",
            "Financial Times", "De Telegraaf", "Het Parool", "Frankfurter Allgemeine", "Der Standard")
_AGENCIES = ("Reuters", "AP", "AFP", "dpa", "ANP", "Belga", "APA")
_CITIES = ("AMSTERDAM", "BERLIN", "BRUSSELS", "LONDON", "PARIS", "WASHINGTON", "DEN HAAG", "MÜNCHEN",
           "ZÜRICH", "WIEN", "FRANKFURT", "ROTTERDAM", "KÖLN", "NEW YORK")
_BOILERPLATE = (
    "Copyright {year} {outlet}. All rights reserved.",
    "This material may not be published, broadcast, rewritten or redistributed.",
    "Reporting by {name}; Editing by {name2}",
    "Lees ook: het laatste nieuws over dit onderwerp op onze website.",
    "© {outlet} {year} – Alle Rechte vorbehalten.",
    "Sign up for our newsletter to get the top stories delivered to your inbox every morning.",
    "Mit Material von {outlet}.",
)
_REPORTERS = ("Jane Smith", "Jan de Vries", "Anna Müller", "Pieter Jansen", "Lena Weiß", "David Chen",
              "Sophie Dubois", "Mark Rüdiger")

# Separators after a word: kind 0 space, 1 comma, 2 sentence end, 3 paragraph end, 4 article end;
# sentence ends choose a mark ('.', '?', '!'); quotes close ('”') on a quoted sentence's last word
# and open ('“') after the separator that precedes a quoted sentence.
_SPACE, _COMMA, _SENT, _PARA, _END = range(5)
_MARKS = (".", "?", "!")
_ARTICLE_SEP = "\x00"


def _sep_table() -> np.ndarray:
    table = []
    for kind in range(5):
        for mark in range(3):
            for close in range(2):
                for open_ in range(2):
                    if kind == _SPACE:
                        s = " "
                    elif kind == _COMMA:
                        s = ", "
                    else:
                        ws = {_SENT: " ", _PARA: "\n\n", _END: _ARTICLE_SEP}[kind]
                        s = _MARKS[mark] + ("\u201d" if close else "") + ws
                    if open_ and kind in (_SENT, _PARA):
                        s += "\u201c"
                    table.append(s)
    return np.array(table, dtype=object)


def _sep_code(kind, mark, close, open_):
    return ((kind * 3 + mark) * 2 + close) * 2 + open_


@lru_cache(maxsize=1)
def vocabulary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(words, capitalised words, cumulative Zipf probabilities)``, fixed for all seeds."""
    rng = np.random.default_rng(20240101)
    seen: set[str] = set()

    def unique(ws):
        out = []
        for w in ws:
            if w not in seen:
                seen.add(w)
                out.append(w)
        return out

    top = unique(_ENGLISH_TOP)
    middle = unique(_ENGLISH_CONTENT + _DUTCH_GERMAN + _NAMES + _NUMBERS)

    def parts(table, size):
        text = np.array([t for t, _ in table], dtype=object)
        w = np.array([x for _, x in table], float)
        return text[rng.choice(len(table), size, p=w / w.sum())]

    tail: list[str] = []
    while len(top) + len(middle) + len(tail) < VOCAB_SIZE:
        m = 8192
        syllables = rng.choice(3, m, p=[0.3, 0.5, 0.2]) + 1
        word = parts(_ONSETS, m) + parts(_VOWELS, m) + parts(_CODAS, m)
        for j in (1, 2):
            more = syllables > j
            word[more] = word[more] + parts(_ONSETS, m)[more] + parts(_VOWELS, m)[more] + parts(_CODAS, m)[more]
        word = word + parts(_SUFFIXES, m)
        tail += unique(w for w in word.tolist() if len(w) >= 3)
    tail = tail[:VOCAB_SIZE - len(top) - len(middle)]
    # Real words interleaved with the first 3,000 syllable words, so they sit at ranks ~200-4,000.
    mixed = np.array(middle + tail[:3000], dtype=object)
    mixed = mixed[rng.permutation(len(mixed))].tolist()
    words = np.array(top + mixed + tail[3000:], dtype=object)
    caps = [w[:1].upper() + w[1:] for w in words.tolist()]
    # Token table: V plain words, V capitalised words, then the separators; as one UTF-8 buffer.
    tokens = [w.encode() for w in words.tolist() + caps + _SEP_TABLE.tolist()]
    lengths = np.array([len(t) for t in tokens], np.int64)
    starts = np.zeros(len(tokens), np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return words, np.frombuffer(b"".join(tokens), np.uint8), starts, lengths


def _zipf(rng: np.random.Generator, size: int) -> np.ndarray:
    """Ranks with P(rank) ~ 1/(rank + ZIPF_SHIFT), by inverting the continuous CDF (no table search)."""
    q, v = ZIPF_SHIFT, VOCAB_SIZE
    r = q * np.exp(rng.random(size) * np.log((v + q) / q)) - q
    return np.minimum(r.astype(np.int32), v - 1)


def _originals(rng: np.random.Generator, m: int, words: int):
    """Token arrays of m original articles: word ids, capitalised flags, separator codes, offsets."""
    lengths = rng.integers(max(1, int(0.8 * words)), max(1, int(1.2 * words)) + 1, m)
    offsets = np.zeros(m + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    wid = _zipf(rng, total)

    kind = np.where(rng.random(total) < 0.07, _COMMA, _SPACE).astype(np.int8)
    # Sentence ends every 6-27 words, and at every article end.
    sent_len = rng.integers(6, 28, total // 6 + 2)
    ends = np.cumsum(sent_len) - 1
    ends = ends[ends < total]
    kind[ends] = _SENT
    art_end = offsets[1:] - 1
    kind[art_end] = _END
    # Paragraph breaks: P in 3..8 per article at even fractions, snapped to the next sentence end.
    sent_ends = np.flatnonzero(kind >= _SENT)
    paras = rng.integers(3, 9, m)
    art = np.repeat(np.arange(m), paras - 1)
    frac = (np.arange(len(art)) - np.repeat(np.cumsum(paras - 1) - (paras - 1), paras - 1) + 1) / np.repeat(paras, paras - 1)
    pos = offsets[art] + (frac * lengths[art]).astype(np.int64)
    snapped = sent_ends[np.minimum(np.searchsorted(sent_ends, pos), len(sent_ends) - 1)]
    ok = snapped < art_end[art]
    kind[snapped[ok]] = _PARA

    is_end = kind >= _SENT
    cap = np.empty(total, np.bool_)
    cap[0] = True
    cap[1:] = is_end[:-1]
    mark = np.where(is_end, rng.choice(3, total, p=[0.93, 0.04, 0.03]), 0).astype(np.int8)
    # Quoted sentences (~8%), never an article's first sentence.
    starts = np.flatnonzero(cap)
    stops = np.flatnonzero(is_end)
    quoted = (rng.random(len(starts)) < 0.08) & ~np.isin(starts, offsets[:-1])
    open_ = np.zeros(total, np.int8)
    close = np.zeros(total, np.int8)
    open_[starts[quoted] - 1] = 1
    close[stops[quoted]] = 1
    code = _sep_code(kind.astype(np.int64), mark, close, open_).astype(np.int8)
    return wid, cap, code, offsets


def _edit(rng: np.random.Generator, wid, cap, code):
    """A copy with 2-10% of its words replaced, deleted or inserted (equal shares)."""
    n = len(wid)
    rate = rng.uniform(0.02, 0.10)
    kind = code // 12
    eligible = np.flatnonzero(~cap)  # not a sentence start: safe to delete or insert before
    ops = min(max(1, int(round(rate * n))), len(eligible))
    if ops == 0:
        return wid.copy(), cap.copy(), code.copy()
    pos = rng.choice(eligible, ops, replace=False)
    op = rng.integers(0, 3, ops)
    wid = wid.copy()
    rep = pos[op == 0]
    wid[rep] = _zipf(rng, len(rep))
    dele = pos[(op == 1) & (kind[pos] <= _COMMA)]
    ins = np.sort(pos[op == 2])
    keep = np.ones(n, np.bool_)
    keep[dele] = False
    new = _zipf(rng, len(ins))
    # Insert before each chosen word (deletions happen after, on the original indices).
    wid2 = np.insert(wid, ins, new)
    cap2 = np.insert(cap, ins, False)
    code2 = np.insert(code, ins, _sep_code(_SPACE, 0, 0, 0))
    keep2 = np.insert(keep, ins, True)
    return wid2[keep2], cap2[keep2], code2[keep2]


def _render(wid, cap, code) -> list[str]:
    """The articles' texts: each word (capitalised where flagged) followed by its separator.

    Done on bytes: gather every token's UTF-8 bytes from the token table in one
    vectorised pass, decode once, split on the article separator.
    """
    _, table, starts, lengths = vocabulary()
    v = VOCAB_SIZE
    tok = np.empty(2 * len(wid), np.int64)
    tok[0::2] = wid + v * cap.astype(np.int64)
    tok[1::2] = 2 * v + code.astype(np.int64)
    size = lengths[tok]
    end = np.cumsum(size)
    # byte j of the output comes from table[starts[tok[t]] + (j - first byte of t)]
    shift = np.repeat(starts[tok] - (end - size), size)
    shift += np.arange(len(shift))
    return table[shift].tobytes().decode().split(_ARTICLE_SEP)[:-1]


_SEP_TABLE = _sep_table()


def _iso(seconds: np.ndarray) -> list[str]:
    t = np.datetime64("2024-01-01T00:00:00") + seconds.astype("timedelta64[s]")
    return [s + "Z" for s in t.astype(str).tolist()]


def _batch(rng: np.random.Generator, m: int, words: int, first: int) -> list[dict]:
    is_copy = rng.random(m) < COPY_SHARE
    is_copy[0] = False
    orig_slots = np.flatnonzero(~is_copy)
    copy_slots = np.flatnonzero(is_copy)
    wid, cap, code, offsets = _originals(rng, len(orig_slots), words)
    texts = np.empty(m, dtype=object)
    texts[orig_slots] = _render(wid, cap, code)

    src = rng.integers(0, len(orig_slots), len(copy_slots))  # index into originals
    if len(copy_slots):
        parts = [_edit(rng, wid[offsets[s]:offsets[s + 1]], cap[offsets[s]:offsets[s + 1]],
                       code[offsets[s]:offsets[s + 1]]) for s in src.tolist()]
        copies = _render(*(np.concatenate(x) for x in zip(*parts)))
    else:
        copies = []

    source = rng.integers(0, len(_OUTLETS), m)
    published = rng.integers(0, 365 * 86400, m)
    copy_of = np.full(m, -1, np.int64)
    if len(copy_slots):
        orig_of_copy = orig_slots[src]
        copy_of[copy_slots] = orig_of_copy
        published[copy_slots] = published[orig_of_copy] + rng.integers(600, 2 * 86400, len(copy_slots))
        shift = rng.integers(1, len(_OUTLETS), len(copy_slots))
        source[copy_slots] = (source[orig_of_copy] + shift) % len(_OUTLETS)
        style = rng.integers(0, 3, len(copy_slots)).tolist()
        agency = rng.integers(0, len(_AGENCIES), len(copy_slots)).tolist()
        city = rng.integers(0, len(_CITIES), len(copy_slots)).tolist()
        plate = rng.integers(0, len(_BOILERPLATE), len(copy_slots)).tolist()
        who = rng.integers(0, len(_REPORTERS), (len(copy_slots), 2)).tolist()
        for t, slot in enumerate(copy_slots.tolist()):
            text = copies[t]
            if style[t] != 1:  # dateline on the first paragraph
                text = f"{_CITIES[city[t]]} ({_AGENCIES[agency[t]]}) - {text}"
            if style[t] != 0:  # boilerplate line as its own last paragraph
                line = _BOILERPLATE[plate[t]].format(year=2024, outlet=_OUTLETS[source[slot]],
                                                     name=_REPORTERS[who[t][0]], name2=_REPORTERS[who[t][1]])
                text = f"{text}\n\n{line}"
            texts[slot] = text
    dates = _iso(published)
    return [{"id": f"doc{first + i:07d}", "text": texts[i], "published": dates[i],
             "source": _OUTLETS[source[i]], "copy_of": None if copy_of[i] < 0 else f"doc{first + copy_of[i]:07d}"}
            for i in range(m)]


def generate(n: int, seed: int = 0, words: int = 500) -> list[dict]:
    """``n`` news-like articles (about 10% syndicated near-copies); same arguments, same output."""
    if n < 0 or words < 1:
        raise ValueError(f"n={n!r}, words={words!r}: expected n >= 0 and words >= 1")
    out: list[dict] = []
    for b, first in enumerate(range(0, n, BATCH)):
        rng = np.random.default_rng([seed, b])
        out += _batch(rng, min(BATCH, n - first), words, first)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--words", type=int, default=500)
    ap.add_argument("--out", help="write JSON lines here (default: print a summary and a sample)")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    docs = generate(args.n, args.seed, args.words)
    elapsed = time.perf_counter() - t
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
    n_words = sum(len(d["text"].split()) for d in docs)
    copies = sum(d["copy_of"] is not None for d in docs)
    print(f"{len(docs)} articles, {copies} copies, {n_words / max(1, len(docs)):.0f} words/article, "
          f"generated in {elapsed:.2f}s", file=sys.stderr)
    if not args.out and docs:
        print(docs[0]["text"][:1500])
    return 0


if __name__ == "__main__":
    sys.exit(main())
