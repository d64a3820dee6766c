"""Scale of `dedup stories`: wall time, peak memory and quality on generated news with story structure.

Run: python benchmarks/stories_scale.py 10000 20000 50000 100000 [--seed 0] [--profile]

Each size runs in its own process. Reported per size: seconds of ``find_stories`` plus
writing its records as JSON (what ``dedup stories --out`` does; links are made as they are
read), the process's peak RSS (``getrusage`` high-water mark), the RSS the generated articles
occupied before ``find_stories`` started (VmRSS), the peak over that (what
``find_stories`` itself needed) per article, and B-cubed / pairwise figures against the
generator's story labels.

Why a generator of its own: ``benchmarks/generate.py`` writes one Zipf word soup with 10%
near-copies and no events, so every article is its own story and nothing is
cross-language; a story clusterer on it has almost nothing to do. :func:`story_corpus`
keeps that module's idea (seeded, vectorised, no Python ``hash()``) and adds what makes
stories hard:

- events inside topics: events of one topic share 2-4 core entities (the company, its
  chief, its city) and topic words, and a quarter of the events are follow-ups of an
  earlier event of the topic (half its entities, 2-30 days later): hard negatives;
- several outlets per event (story sizes 1 + geometric, with a 5% tail of 20-80
  articles; about 5.5 articles a story as in news_cluster), in six languages (en, de, nl,
  es, it, fr) written with each language's own common words (``wordfreq`` lists), its
  number and date conventions (``40 miljard``, ``3,5 Prozent``, ``4 de marzo``) and
  country aliases (``VS``/``USA``/``EEUU``): rewrites in another language share only the
  anchors;
- famous entities (``US``, ``EU``, ``Google``) in many unrelated articles, synthetic people
  and organisations from finite pools (surnames repeat across events);
- 10% syndicated copies of an article of the same event (a few words edited, a dateline
  added), found as ``copy`` links; the rest are independent rewrites;
- articles published within days of their event, over two years; no ``lang`` field (the
  language is detected).

``--corpus flat`` runs on ``benchmarks/generate.py`` instead (no stories, English only).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

LANGS = ("en", "de", "nl", "es", "it", "fr")
LANG_SHARE = (0.40, 0.15, 0.15, 0.10, 0.10, 0.10)
OUTLETS = ("Reuters", "AP", "AFP", "dpa", "ANP", "Bloomberg", "Belga", "EFE", "ANSA", "The Daily Record",
           "De Volkskrant", "NRC", "Süddeutsche Zeitung", "Die Welt", "Le Monde", "The Guardian", "El País",
           "La Repubblica", "Financial Times", "De Telegraaf", "Frankfurter Allgemeine", "Le Figaro")
CITIES = ("AMSTERDAM", "BERLIN", "BRUSSELS", "LONDON", "PARIS", "MADRID", "ROME", "WASHINGTON", "FRANKFURT")
AGENCIES = ("Reuters", "AP", "AFP", "dpa", "ANP", "EFE", "ANSA")

# Famous entities: the surface per language (en, de, nl, es, it, fr); keys agree through dedup's aliases.
FAMOUS = [
    ("US", "USA", "VS", "EEUU", "Stati Uniti", "États-Unis"),
    ("EU", "EU", "EU", "UE", "UE", "UE"),
    ("United Nations", "Vereinte Nationen", "Verenigde Naties", "Naciones Unidas", "Nazioni Unite", "ONU"),
    ("NATO", "NATO", "NAVO", "OTAN", "NATO", "OTAN"),
    ("Germany", "Deutschland", "Duitsland", "Alemania", "Germania", "Allemagne"),
    ("France", "Frankreich", "Frankrijk", "Francia", "Francia", "France"),
    ("Spain", "Spanien", "Spanje", "España", "Spagna", "Espagne"),
    ("Italy", "Italien", "Italië", "Italia", "Italia", "Italie"),
    ("Russia", "Russland", "Rusland", "Rusia", "Russia", "Russie"),
    ("Beijing", "Peking", "Peking", "Pekín", "Pechino", "Pékin"),
    ("Brussels", "Brüssel", "Brussel", "Bruselas", "Bruxelles", "Bruxelles"),
    ("London", "London", "Londen", "Londres", "Londra", "Londres"),
] + [(name,) * 6 for name in (
    "Google", "Apple", "Microsoft", "Amazon", "TikTok", "Airbus", "Boeing", "Tesla", "Siemens", "Shell",
    "Philips", "Volkswagen", "IMF", "ECB", "WHO", "Facebook", "Twitter", "Nvidia", "Reuters", "Bloomberg",
    "Netflix", "Samsung", "OpenAI", "Ryanair", "Unilever", "Heineken", "BMW", "Renault", "Fiat", "Iberdrola")]

SCALE_WORDS = {  # language -> (million, billion) words
    "en": ("million", "billion"), "de": ("Millionen", "Milliarden"), "nl": ("miljoen", "miljard"),
    "es": ("millones", "mil millones"), "it": ("milioni", "miliardi"), "fr": ("millions", "milliards")}
PERCENT_WORDS = {"en": "percent", "de": "Prozent", "nl": "procent", "es": "por ciento", "it": "per cento",
                 "fr": "pour cent"}
MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"}
ORG_SUFFIX = ("Group", "Holding", "Bank", "Airlines", "Energy", "Motors", "Labs", "Media", "Pharma", "Capital")

_ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "h", "k", "kl", "l", "m", "n", "p", "r", "s", "st", "t", "tr",
           "v", "w", "z", "", "", "sch", "j")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ei", "au", "ö", "ü", "é")
_CODAS = ("", "", "", "n", "r", "l", "s", "t", "nd", "rk", "m", "ck", "ng")


@dataclass(frozen=True)
class CorpusShape:
    """How :func:`story_corpus` shapes the corpus (defaults give ~5.5 articles a story)."""

    mean_words: int = 450          # article length, uniform in [0.55, 1.45] x this
    story_p: float = 0.3           # story size 1 + geometric(story_p) ...
    big_share: float = 0.05        # ... or, for this share of stories, uniform 20-80
    events_per_topic: int = 8
    follow_up_share: float = 0.25  # events that follow up an earlier event of their topic
    copy_share: float = 0.10       # articles that are syndicated copies of another article of their story
    days: int = 730                # events spread over this many days

    def __post_init__(self) -> None:
        checks = [("mean_words", self.mean_words >= 20), ("story_p", 0 < self.story_p <= 1),
                  ("big_share", 0 <= self.big_share <= 1), ("events_per_topic", self.events_per_topic >= 1),
                  ("follow_up_share", 0 <= self.follow_up_share <= 1), ("copy_share", 0 <= self.copy_share < 1),
                  ("days", self.days >= 1)]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid")


# -- vocabularies -------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _words(lang: str) -> tuple[str, ...]:
    """The language's 20,000 most frequent alphabetic words (wordfreq), in frequency order."""
    from wordfreq import top_n_list

    return tuple(w for w in top_n_list(lang, 24000) if w.isalpha() and len(w) >= 2)[:20000]


@lru_cache(maxsize=None)
def _common_everywhere() -> frozenset[str]:
    return frozenset(w for lang in LANGS for w in _words(lang))


def _name_pool(rng: np.random.Generator, size: int, syllables: tuple[int, int]) -> list[str]:
    """``size`` distinct capitalised made-up names that are no common word of any language."""
    out: list[str] = []
    seen = set(_common_everywhere())
    while len(out) < size:
        m = 4 * (size - len(out)) + 64
        count = rng.integers(syllables[0], syllables[1] + 1, m)
        parts = [rng.choice(len(t), (m, 3)) for t in (_ONSETS, _VOWELS, _CODAS)]
        for k in range(m):
            word = "".join(_ONSETS[parts[0][k, s]] + _VOWELS[parts[1][k, s]] + _CODAS[parts[2][k, s]]
                           for s in range(count[k]))
            if len(word) >= 4 and word not in seen:
                seen.add(word)
                out.append(word.capitalize())
                if len(out) == size:
                    break
    return out


def _zipf_ranks(rng: np.random.Generator, size: int, top: int, shift: float = 2.7) -> np.ndarray:
    """Ranks in [0, top) with P(rank) ~ 1 / (rank + shift) (inverse of the continuous CDF)."""
    r = shift * np.exp(rng.random(size) * np.log((top + shift) / shift)) - shift
    return np.minimum(r.astype(np.int64), top - 1)


# -- surfaces per language -----------------------------------------------------------------------------------

def _int_text(value: int, lang: str) -> str:
    text = f"{value:,}"
    return text if lang == "en" else text.replace(",", ".")


def _decimal_text(value: float, lang: str) -> str:
    text = f"{value:.1f}"
    return text if lang == "en" else text.replace(".", ",")


def _amount(kind: int, value: float, lang: str) -> str:
    """An amount of money (kind 0: millions, 1: billions), a percentage (2) or a count (3)."""
    if kind == 2:
        return f"{_decimal_text(value, lang)} {PERCENT_WORDS[lang]}" if value % 1 else \
            f"{int(value)} {PERCENT_WORDS[lang]}"
    if kind == 3:
        return _int_text(int(value), lang)
    number = _decimal_text(value, lang) if value % 1 else str(int(value))
    if kind == 1 and lang == "es":  # 3,5 mil millones is written 3.500 millones
        return f"{_int_text(int(round(value * 1000)), lang)} millones"
    return f"{number} {SCALE_WORDS[lang][kind]}"


def _date(month: int, day: int, lang: str) -> str:
    name = MONTHS[lang].split()[month - 1]
    return {"en": f"{name} {day}", "de": f"{day}. {name}", "es": f"{day} de {name}"}.get(lang, f"{day} {name}")


# -- the corpus ------------------------------------------------------------------------------------------------

@dataclass
class _Pools:
    first: list[str]
    last: list[str]
    orgs: list[str]
    places: list[str]


def _pools(n: int, rng: np.random.Generator) -> _Pools:
    """Name pools growing with the corpus (so surnames repeat across events at every size)."""
    return _Pools(first=_name_pool(rng, max(200, n // 30), (2, 2)), last=_name_pool(rng, max(1000, n // 3), (2, 3)),
                  orgs=_name_pool(rng, max(500, n // 5), (2, 3)), places=_name_pool(rng, max(300, n // 20), (2, 3)))


def _entity(rng: np.random.Generator, pools: _Pools) -> tuple:
    """A person, organisation, place, acronym, code, amount or date (language-independent form)."""
    kind = int(rng.choice(7, p=[0.3, 0.2, 0.1, 0.08, 0.04, 0.2, 0.08]))
    if kind == 0:
        return ("person", pools.first[rng.integers(len(pools.first))], pools.last[rng.integers(len(pools.last))])
    if kind == 1:
        org = pools.orgs[rng.integers(len(pools.orgs))]
        return ("org", org + (" " + ORG_SUFFIX[rng.integers(len(ORG_SUFFIX))] if rng.random() < 0.3 else ""))
    if kind == 2:
        return ("place", pools.places[rng.integers(len(pools.places))])
    if kind == 3:
        return ("org", "".join(chr(65 + int(c)) for c in rng.integers(0, 26, rng.integers(3, 5))))
    if kind == 4:
        return ("org", chr(65 + int(rng.integers(26))) + str(int(rng.integers(10, 990))))
    if kind == 5:
        sub = int(rng.choice(4, p=[0.35, 0.15, 0.25, 0.25]))
        value = float(rng.integers(11, 990)) if rng.random() < 0.7 else round(float(rng.uniform(1.1, 9.9)), 1)
        if sub == 3:
            value = float(rng.integers(12, 40) * 100 + rng.integers(0, 10) * 10)
        return ("amount", sub, value)
    return ("date", int(rng.integers(1, 13)), int(rng.integers(1, 29)))


def _mention(entity: tuple, lang: str, first: bool) -> str:
    kind = entity[0]
    if kind == "person":
        return f"{entity[1]} {entity[2]}" if first else entity[2]
    if kind in ("org", "place"):
        return entity[1]
    if kind == "famous":
        return FAMOUS[entity[1]][LANGS.index(lang)]
    if kind == "amount":
        return _amount(entity[1], entity[2], lang)
    return _date(entity[1], entity[2], lang)


@dataclass
class _Event:
    topic: int
    time: float                 # seconds since 2022-01-01
    entities: list[tuple]
    words: np.ndarray           # event word ranks (mapped into each language's list)


def _events(count: int, shape: CorpusShape, rng: np.random.Generator, pools: _Pools) -> list[_Event]:
    topics = max(1, count // shape.events_per_topic)
    core = [[_entity(rng, pools) for _ in range(int(rng.integers(2, 5)))] for _ in range(topics)]
    topic_words = [rng.integers(300, 15000, 25) for _ in range(topics)]
    events: list[_Event] = []
    by_topic: dict[int, list[int]] = {}
    for e in range(count):
        t = int(rng.integers(topics))
        own = [_entity(rng, pools) for _ in range(int(rng.integers(6, 13)))]
        previous = by_topic.get(t, [])
        if previous and rng.random() < shape.follow_up_share:
            base = events[previous[int(rng.integers(len(previous)))]]
            keep = [x for x in base.entities if rng.random() < 0.5]
            when = base.time + float(rng.uniform(2, 30)) * 86400
            own = keep + own[:max(3, len(own) - len(keep))]
        else:
            when = float(rng.uniform(0, shape.days)) * 86400
        words = np.concatenate([topic_words[t], rng.integers(300, 15000, 30)])
        events.append(_Event(t, when, core[t] + own, words))
        by_topic.setdefault(t, []).append(e)
    return events


def _sentences(rng: np.random.Generator, lang: str, event: _Event, mentions: list[str], length: int) -> list[str]:
    """Sentences of ``lang`` words (Zipf over its common words, a fifth from the event's words) with the
    entity ``mentions`` spread over them; German capitalises (most) nouns, so about half its rarer words."""
    vocab = _words(lang)
    ranks = _zipf_ranks(rng, length, len(vocab))
    from_event = rng.random(length) < 0.2
    ranks[from_event] = event.words[rng.integers(0, len(event.words), int(from_event.sum()))]
    words = [vocab[r] for r in ranks.tolist()]
    if lang == "de":
        caps = (ranks > 150) & (rng.random(length) < 0.5)
        words = [w.capitalize() if c else w for w, c in zip(words, caps.tolist())]
    cuts = np.cumsum(rng.integers(8, 26, length // 8 + 2))
    cuts = cuts[cuts < length].tolist()
    pieces = [words[a:b] for a, b in zip([0] + cuts, cuts + [length]) if b > a]
    slots = rng.integers(0, len(pieces), len(mentions)).tolist()
    for m, s in zip(mentions, slots):
        p = pieces[s]
        p.insert(int(rng.integers(1, len(p) + 1)), m)
    out = []
    for p in pieces:
        p[0] = p[0][:1].upper() + p[0][1:]
        out.append(" ".join(p) + ".")
    return out


def _article(rng: np.random.Generator, lang: str, event: _Event, shape: CorpusShape) -> str:
    ents = [x for x in event.entities if rng.random() < 0.75] or event.entities[:3]
    famous = [("famous", int(i)) for i in np.unique(_zipf_ranks(rng, int(rng.integers(0, 5)), len(FAMOUS), 1.0))]
    mentions, said = [], set()
    for x in ents + famous:
        for _ in range(int(rng.integers(1, 4))):
            mentions.append(_mention(x, lang, first=id(x) not in said))
            said.add(id(x))
    order = rng.permutation(len(mentions)).tolist()
    mentions = [mentions[i] for i in order]
    head = _sentences(rng, lang, event, mentions[:2], int(rng.integers(6, 11)))[0].rstrip(".")
    length = int(shape.mean_words * rng.uniform(0.55, 1.45))
    body = _sentences(rng, lang, event, mentions[2:], length)
    paragraphs, k = [], 0
    while k < len(body):
        step = int(rng.integers(2, 6))
        paragraphs.append(" ".join(body[k:k + step]))
        k += step
    return head + "\n\n" + "\n\n".join(paragraphs)


def _syndicated(rng: np.random.Generator, text: str, lang: str) -> str:
    """A copy: 2-8% of the body's words replaced by common words, a dateline added."""
    head, _, body = text.partition("\n\n")
    words = body.split(" ")
    vocab = _words(lang)
    edit = np.flatnonzero(rng.random(len(words)) < rng.uniform(0.02, 0.08)).tolist()
    for k in edit:
        if "\n" not in words[k] and not words[k].endswith("."):
            words[k] = vocab[int(_zipf_ranks(rng, 1, 2000)[0])]
    dateline = f"{CITIES[rng.integers(len(CITIES))]} ({AGENCIES[rng.integers(len(AGENCIES))]}) - "
    return head + "\n\n" + dateline + " ".join(words)


def story_corpus(n: int, seed: int = 0, shape: CorpusShape = CorpusShape()) -> list[dict]:
    """``n`` articles ``{id, text, published, source, story, copy_of, lang}`` (``lang`` is the truth, for
    checking; pass it on or not). Same arguments, same output."""
    if n < 0:
        raise ValueError(f"n={n!r}: expected n >= 0")
    rng = np.random.default_rng([seed, 7])
    pools = _pools(n, rng)
    sizes: list[int] = []
    while sum(sizes) < n:
        big = rng.random() < shape.big_share
        sizes.append(int(rng.integers(20, 81)) if big else 1 + int(rng.geometric(shape.story_p)) - 1)
    sizes[-1] -= sum(sizes) - n
    sizes = [s for s in sizes if s > 0]
    events = _events(len(sizes), shape, rng, pools)
    rows: list[dict] = []
    base = np.datetime64("2022-01-01T00:00:00")
    for e, (event, size) in enumerate(zip(events, sizes)):
        erng = np.random.default_rng([seed, 11, e])
        written: list[tuple[str, str]] = []
        outlets = erng.permutation(len(OUTLETS))
        for k in range(size):
            if written and erng.random() < shape.copy_share:
                src = int(erng.integers(len(written)))
                lang = written[src][1]
                text, copy_of = _syndicated(erng, written[src][0], lang), src
            else:
                lang = LANGS[int(erng.choice(len(LANGS), p=LANG_SHARE))]
                text, copy_of = _article(erng, lang, event, shape), None
            when = event.time + float(erng.exponential(86400.0))
            written.append((text, lang))
            rows.append({"text": text, "lang": lang, "story": e, "copy_of": copy_of,
                         "published": str(base + np.timedelta64(int(when), "s")) + "Z",
                         "source": OUTLETS[int(outlets[k % len(OUTLETS)])]})
    order = np.random.default_rng([seed, 13]).permutation(len(rows))
    position = np.empty(len(rows), np.int64)
    position[order] = np.arange(len(rows))
    first_of_story: dict[int, int] = {}
    for i, r in enumerate(rows):
        first_of_story.setdefault(r["story"], i)
    out: list[dict] = [{}] * len(rows)
    for i, r in enumerate(rows):
        copy_of = r.pop("copy_of")
        r["id"] = f"s{position[i]:07d}"
        r["copy_of"] = None if copy_of is None else f"s{position[first_of_story[r['story']] + copy_of]:07d}"
        out[position[i]] = r
    return out


# -- measuring -------------------------------------------------------------------------------------------------

def _rss_mb() -> float:
    """Current resident set size (VmRSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(n: int, seed: int, corpus: str, profile: str | None, workers: int, settings: dict) -> None:
    import gc

    sys.path.append(str(ROOT))  # an installed or PYTHONPATH dedup comes first
    from dedup import Document
    from dedup.evaluate import evaluate
    from dedup.stories import StoryParams, find_stories, link_records, story_records

    params = StoryParams(**settings)

    if corpus == "flat":
        sys.path.insert(0, str(HERE))
        from generate import generate

        rows = generate(n, seed=seed)
        gold = {r["id"]: r["copy_of"] or r["id"] for r in rows}
    else:
        rows = story_corpus(n, seed=seed)
        gold = {r["id"]: r["story"] for r in rows}
    docs = [Document(r["id"], r["text"], source=r["source"], published=r["published"]) for r in rows]
    del rows
    gc.collect()
    base = _rss_mb()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if profile:
        import cProfile

        prof = cProfile.Profile()
        result = prof.runcall(find_stories, docs, params, workers)
        prof.dump_stats(profile)
    else:
        result = find_stories(docs, params, workers)
    found = time.perf_counter()
    # what `dedup stories --out` writes: every record as JSON (links are made as they are read)
    written = sum(len(json.dumps(r)) for r in story_records(result)) + sum(len(json.dumps(r))
                                                                       for r in link_records(result))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker
    m = evaluate(result.labels, gold)
    print(json.dumps({"n": n, "seconds": round(seconds, 1), "find_seconds": round(found - start, 1),
                      "output_mb": round(written / 2**20), "peak_mb": round(peak), "input_mb": round(base),
                      "worker_peak_mb": round(workers_peak) if workers > 1 else 0, "workers": workers,
                      "peak_before_mb": round(peak_before), "stats": result.stats,
                      **{k: round(m[k], 4) for k in ("bcubed_f1", "bcubed_precision", "bcubed_recall",
                                                     "pairwise_precision", "pairwise_recall")}}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", type=int, nargs="*", default=[10_000, 20_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", choices=("stories", "flat"), default="stories")
    ap.add_argument("--profile", metavar="PREFIX", help="write cProfile stats to PREFIX-N.prof")
    ap.add_argument("--json", action="store_true", help="print each size's full JSON record too")
    ap.add_argument("--workers", type=int, default=1, help="find_stories(workers=...): anchor extraction processes")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a StoryParams field other than its default (repeatable), e.g. --set max_bucket=100")
    args = ap.parse_args(argv)
    settings = dict(_setting(x) for x in args.set)
    print(f"{'articles':>9} {'seconds':>8} {'peak MB':>8} {'input MB':>9} {'KB/article':>11} {'stories':>8} "
          f"{'B3 F1':>6} {'B3 P':>6} {'B3 R':>6} {'pair P':>7} {'pair R':>7}   load average", flush=True)
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--child", json.dumps({
            "n": n, "seed": args.seed, "corpus": args.corpus, "workers": args.workers, "settings": settings,
            "profile": f"{args.profile}-{n}.prof" if args.profile else None})]
        out = subprocess.run(cmd, capture_output=True, text=True)
        load = Path("/proc/loadavg").read_text().split()[:3]
        if out.returncode != 0:
            print(f"{n:>9} failed: {out.stderr.strip().splitlines()[-3:]}")
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        over = max(0, r["peak_mb"] - r["input_mb"])
        print(f"{n:>9} {r['seconds']:>8} {r['peak_mb']:>8} {r['input_mb']:>9} {over * 1024 / n:>11.1f} "
              f"{r['stats'].get('stories', 0):>8} {r['bcubed_f1']:>6.3f} {r['bcubed_precision']:>6.3f} "
              f"{r['bcubed_recall']:>6.3f} {r['pairwise_precision']:>7.3f} {r['pairwise_recall']:>7.3f}   "
              f"{' '.join(load)}", flush=True)
        if args.json:
            print(json.dumps(r), flush=True)
    return 0


def _setting(text: str) -> tuple[str, object]:
    """``name=value`` -> (name, the value read as JSON, else as text)."""
    name, _, value = text.partition("=")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(**json.loads(sys.argv[2]))
    else:
        sys.exit(main())
