"""Repeats inside one document: recall on planted repeats, false reports, cleaning, speed.

From the real news_cluster articles (title + "\\n\\n" + text, ../shared/data), seeded
copies with a planted repeat of at least 30 words are built:

  a  body doubled:           text + "\\n\\n" + text
  b  one paragraph repeated: right after itself or at a later paragraph break
  c  two paragraphs repeated (each once, after itself or later)
  d  near-repeats: as a (d-body) and b (d-para), the repeated copy with 1-5% of its
     words inserted, deleted or replaced (benchmarks/edits.py: edit_words)
  e  body doubled on ONE line: every line break a space, then text + " " + text

(news_cluster paragraphs are lines, separated by a single "\\n".)  Measured:

* recall: a planted copy is found when ``dedup.find_repeats`` reports a body or
  paragraph repeat whose [start, end) covers >= 50% of the copy's characters;
* false reports: untouched originals with a body/paragraph repeat. The originals are
  real pages and do contain repeats (summary bullets repeated in the body, quoted
  tweets, gallery captions), so every report is checked independently: it is
  *confirmed* when the reported copy has >= 30 words and shares >= 50% of its words in
  order with its source (difflib ratio on word lists). Unconfirmed reports are the
  false ones; the target applies to them. The raw share is printed next to it, and
  synthetic articles (benchmarks/generate.py, no repeats by construction) give a
  second, clean false-report rate;
* for a: repeated_fraction in [0.45, 0.55] (originals without repeats of their own) and
  the cleaned text word-for-word equal to the original (to the original's own cleaned
  text when it has repeats itself); for e, the same comparison (informational);
* speed: find_repeats articles/s on one core (numba.set_num_threads(1)) on generated
  ~500-word articles (5% with the body doubled, 5% with a paragraph repeated), best of
  3 after a warm-up, with a per-stage breakdown; and ``dedup.find`` on the same corpus
  with Config(repeats=RepeatParams(clean=True)) vs clean=False, alternated several
  times (the machine is noisy), median slowdown.

Run: python benchmarks/repeats_bench.py [--seeds 0,1,2] [--docs 6000] [--rounds 5]
Exit status 1 when a target is missed; 0 (with a message) when the data is absent.
"""

from __future__ import annotations

import argparse
import difflib
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from edits import edit_words, load_news_cluster, variant_rng  # noqa: E402

import numba  # noqa: E402

from dedup import Config, Document, RepeatParams, find, find_repeats, normalize  # noqa: E402
from dedup.params import ShingleParams  # noqa: E402
from dedup.repeats import describe, find_runs  # noqa: E402
from dedup.shingle import shingle  # noqa: E402

MIN_WORDS = 30  # planted repeats are at least this long (RepeatParams().min_words)
COVER = 0.5  # a planted copy is found when a reported repeat covers this share of it
WORD = re.compile(r"[^\W_]+")  # dedup's word definition

TARGET_RECALL = 0.99
TARGET_FALSE = 0.01
TARGET_CLEAN_A = 0.99  # (a): share of documents with repeated_fraction in [0.45, 0.55] / cleaned == original
TARGET_SPEED = 5000.0
TARGET_SLOWDOWN = 0.15


def words(text: str) -> list[str]:
    return WORD.findall(text)


@dataclass
class Planted:
    """One test document and the character spans of the copies planted in it."""

    case: str
    doc_id: str
    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)


# ---- building the planted copies -----------------------------------------------------------------------------

def _join(items: list[tuple[str, bool]]) -> tuple[str, list[tuple[int, int]]]:
    """Lines joined by "\\n", and the spans of the lines flagged as planted copies."""
    parts, spans, pos = [], [], 0
    for i, (line, planted) in enumerate(items):
        if i:
            parts.append("\n")
            pos += 1
        if planted:
            spans.append((pos, pos + len(line)))
        parts.append(line)
        pos += len(line)
    return "".join(parts), spans


def _long_paragraphs(lines: list[str], first_body: int) -> list[int]:
    return [i for i in range(first_body, len(lines)) if len(words(lines[i])) >= MIN_WORDS
            and len(lines[i].split()) >= MIN_WORDS]


def _repeat_paragraphs(lines: list[str], chosen: list[int], rng: np.random.Generator,
                       edit: float | None = None) -> tuple[str, list[tuple[int, int]]] | None:
    """Insert a copy of each chosen line right after itself or after a later line."""
    inserts: dict[int, list[str]] = {}
    for i in chosen:
        after = i if (i == len(lines) - 1 or rng.random() < 0.5) else int(rng.integers(i + 1, len(lines)))
        copy = lines[i]
        if edit is not None:
            n = len(copy.split())
            changes = max(1, int(round(edit * n)))
            copy = edit_words(copy, changes / n, rng)
            if len(words(copy)) < MIN_WORDS:
                return None
        inserts.setdefault(after, []).append(copy)
    items = []
    for i, line in enumerate(lines):
        items.append((line, False))
        items.extend((c, True) for c in inserts.get(i, []))
    return _join(items)


def plant(articles: list[dict], seed: int) -> list[Planted]:
    out = []
    for a in articles:
        doc_id = str(a["doc_id"])
        title = (a.get("title") or "").strip()
        text = f"{title}\n\n{a.get('text') or ''}" if title else (a.get("text") or "")
        if len(words(text)) < MIN_WORDS:
            continue

        def rng(case: str) -> np.random.Generator:
            return variant_rng(seed, doc_id, "repeats-" + case)

        # a: body doubled; d-body: the copy edited; e: doubled on one line
        doubled = text + "\n\n" + text
        out.append(Planted("a", doc_id, doubled, [(len(text) + 2, len(doubled))]))
        r = rng("d-body")
        copy = edit_words(text, float(r.uniform(0.01, 0.05)), r)
        out.append(Planted("d-body", doc_id, text + "\n\n" + copy, [(len(text) + 2, len(text) + 2 + len(copy))]))
        one = re.sub(r"\r\n|\r|\n", " ", text)
        out.append(Planted("e", doc_id, one + " " + one, [(len(one) + 1, 2 * len(one) + 1)]))

        lines = re.split(r"\r\n|\r|\n", text)
        long = _long_paragraphs(lines, 2 if title else 0)
        if long:
            r = rng("b")
            made = _repeat_paragraphs(lines, [long[int(r.integers(len(long)))]], r)
            out.append(Planted("b", doc_id, *made))
            r = rng("d-para")
            made = _repeat_paragraphs(lines, [long[int(r.integers(len(long)))]], r, edit=float(r.uniform(0.01, 0.05)))
            if made is not None:
                out.append(Planted("d-para", doc_id, *made))
        if len(long) >= 2:
            r = rng("c")
            two = sorted(int(i) for i in r.choice(long, size=2, replace=False))
            out.append(Planted("c", doc_id, *_repeat_paragraphs(lines, two, r)))
    return out


# ---- measuring ------------------------------------------------------------------------------------------------

def covered(spans: list[tuple[int, int]], start: int, end: int) -> float:
    """Share of [start, end) covered by the union of ``spans``."""
    marks = np.zeros(end - start, bool)
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if e > s:
            marks[s - start:e - start] = True
    return float(marks.mean()) if end > start else 0.0


def found(planted_span: tuple[int, int], repeats) -> bool:
    """Some single body/paragraph repeat overlaps the planted copy by >= COVER of its length."""
    s, e = planted_span
    return any(r.kind != "line" and covered([(r.start, r.end)], s, e) >= COVER for r in repeats)


def word_ratio(a: str, b: str) -> float:
    wa, wb = words(a.casefold()), words(b.casefold())
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def confirmed(text: str, r) -> bool:
    """Independent check of a reported repeat: the copy has >= 30 words and shares >= 50% of its words, in
    order, with its source (repeated as often as it fits when the copy is periodic: A A A, source = one A)."""
    copy, source = words(text[r.start:r.end].casefold()), words(text[r.source_start:r.source_end].casefold())
    if len(copy) < MIN_WORDS or not source:
        return False
    source = source * max(1, round(len(copy) / len(source)))
    return difflib.SequenceMatcher(None, copy, source, autojunk=False).ratio() >= 0.5


def run_repeats(texts: list[str]) -> list:
    docs = [Document(f"{i:07d}", t) for i, t in enumerate(texts)]
    return find_repeats(docs)  # ids sort like the input


def speed_corpus(n: int, seed: int) -> tuple[list[str], set[int]]:
    """~500-word generated articles; 5% with the body doubled, 5% with one paragraph repeated.

    Returns the texts and the indices of those with a planted repeat."""
    from generate import generate

    texts = [d["text"] for d in generate(n, seed=seed, words=500)]
    rng = np.random.default_rng([seed, 7])
    kind = rng.random(n)
    for i in np.flatnonzero(kind < 0.05):
        texts[i] = texts[i] + "\n\n" + texts[i]
    for i in np.flatnonzero((kind >= 0.05) & (kind < 0.10)):
        paras = texts[i].split("\n\n")
        j = int(rng.integers(len(paras)))
        paras.insert(int(rng.integers(j + 1, len(paras) + 1)), paras[j])
        texts[i] = "\n\n".join(paras)
    return texts, set(np.flatnonzero(kind < 0.10).tolist())


def stage_times(texts: list[str]) -> dict[str, float]:
    """Seconds per stage of find_repeats, in the same batches (normalize, shingle, runs, describe)."""
    from dedup.sketch import BATCH

    words_k = ShingleParams("word", ShingleParams().k)
    out = dict(normalize=0.0, shingle=0.0, runs=0.0, describe=0.0)
    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        t0 = time.perf_counter()
        norm = [normalize(t) for t in batch]
        t1 = time.perf_counter()
        sh = shingle(norm, words_k)
        t2 = time.perf_counter()
        rows, offsets = find_runs(sh, words_k, RepeatParams())
        t3 = time.perf_counter()
        for i, t in enumerate(batch):
            describe(str(i), t, sh.lines[sh.indptr[i]:sh.indptr[i + 1]], rows[offsets[i]:offsets[i + 1]], words_k.k)
        t4 = time.perf_counter()
        for name, dt in zip(out, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            out[name] += dt
    return out


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2", help="seeds of the planted copies (comma-separated)")
    ap.add_argument("--docs", type=int, default=6000, help="generated articles for the speed runs")
    ap.add_argument("--rounds", type=int, default=5, help="alternated find() rounds, clean=True vs clean=False")
    ap.add_argument("--show", action="store_true", help="print every miss and every report on an original")
    args = ap.parse_args(argv)
    articles = load_news_cluster()
    if articles is None:
        print("news_cluster data not found (../shared/data); skipped.")
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    results: list[tuple[str, str, str, bool | None]] = []  # (measure, value, target, ok or None: informational)

    # -- recall on planted repeats --
    planted = [p for seed in seeds for p in plant(articles, seed)]
    reps = run_repeats([p.text for p in planted])
    cases = ["a", "b", "c", "d-body", "d-para", "e"]
    hits = {c: [0, 0] for c in cases}
    body_kind = {c: [0, 0] for c in cases}
    misses = []
    for p, r in zip(planted, reps):
        for span in p.spans:
            ok = found(span, r.repeats)
            hits[p.case][0] += ok
            hits[p.case][1] += 1
            if not ok:
                misses.append((p, span, r))
        body_kind[p.case][0] += any(x.kind == "body" for x in r.repeats)
        body_kind[p.case][1] += 1
    print(f"news_cluster: {len(articles)} articles; seeds {seeds}; {len(planted):,} documents with planted repeats")
    print()
    print(f"{'case':<8} {'planted':>8} {'found':>8} {'recall':>8}  {'docs with a body repeat':>24}")
    for c in cases:
        h, n = hits[c]
        print(f"{c:<8} {n:>8,} {h:>8,} {h / max(n, 1):>8.2%}  {body_kind[c][0] / max(body_kind[c][1], 1):>24.1%}")
    for label, group in (("a", ["a"]), ("b", ["b"]), ("c", ["c"]), ("d", ["d-body", "d-para"]), ("e", ["e"])):
        h, n = sum(hits[c][0] for c in group), sum(hits[c][1] for c in group)
        results.append((f"recall ({label})", f"{h / n:.2%} ({h:,}/{n:,})", f">= {TARGET_RECALL:.0%}",
                        h / n >= TARGET_RECALL))

    # -- (a): repeated fraction and cleaned text --
    originals = {}
    for a in articles:
        title = (a.get("title") or "").strip()
        originals[str(a["doc_id"])] = f"{title}\n\n{a.get('text') or ''}" if title else (a.get("text") or "")
    ids = sorted(originals)
    orig_reps = dict(zip(ids, run_repeats([originals[i] for i in ids])))
    fracs, band_all, band_plain, plain_n, same, strict_same, strict_n = [], 0, 0, 0, 0, 0, 0
    a_docs = [(p, r) for p, r in zip(planted, reps) if p.case == "a"]
    for p, r in a_docs:
        o = orig_reps[p.doc_id]
        fracs.append(r.repeated_fraction)
        band = 0.45 <= r.repeated_fraction <= 0.55
        band_all += band
        if not o.repeated:  # the original has no body/paragraph repeat of its own
            plain_n += 1
            band_plain += band
        same += words(r.cleaned) == words(o.cleaned)
        if not o.repeats:
            strict_n += 1
            strict_same += words(r.cleaned) == words(originals[p.doc_id])
    n_a = len(a_docs)
    print()
    print(f"(a) body doubled, {n_a:,} documents: repeated_fraction median {statistics.median(fracs):.3f}, "
          f"min {min(fracs):.3f}, max {max(fracs):.3f}; in [0.45, 0.55]: {band_all / n_a:.2%} of all (originals "
          "with repeats of their own are above 0.55)")
    results.append(("(a) repeated_fraction in [0.45, 0.55]*",
                    f"{band_plain / plain_n:.2%} ({band_plain:,}/{plain_n:,})", f">= {TARGET_CLEAN_A:.0%}",
                    band_plain / plain_n >= TARGET_CLEAN_A))
    results.append(("(a) cleaned == original, originals without repeats", f"{strict_same / max(strict_n, 1):.2%} "
                    f"({strict_same:,}/{strict_n:,})", f">= {TARGET_CLEAN_A:.0%}",
                    strict_same / max(strict_n, 1) >= TARGET_CLEAN_A))
    results.append(("(a) cleaned == cleaned original, all", f"{same / n_a:.2%} ({same:,}/{n_a:,})",
                    f">= {TARGET_CLEAN_A:.0%}", same / n_a >= TARGET_CLEAN_A))

    # (e): the same on one line, against the one-line original's own cleaned text (informational)
    e_docs = [(p, r) for p, r in zip(planted, reps) if p.case == "e"]
    e_orig = run_repeats([p.text[:p.spans[0][0] - 1] for p, _ in e_docs])
    e_same = sum(words(r.cleaned) == words(o.cleaned) for (_, r), o in zip(e_docs, e_orig))
    results.append(("(e) cleaned == cleaned one-line original", f"{e_same / len(e_docs):.2%} "
                    f"({e_same:,}/{len(e_docs):,})", "info", None))

    # -- false reports on untouched originals --
    n_o = len(ids)
    with_rep = [i for i in ids if orig_reps[i].repeated]
    unconfirmed = [i for i in with_rep if not all(confirmed(originals[i], x) for x in orig_reps[i].repeats
                                                  if x.kind != "line")]
    with_lines = sum(any(x.kind == "line" for x in orig_reps[i].repeats) for i in ids)
    ratios = [word_ratio(originals[i][x.start:x.end], originals[i][x.source_start:x.source_end])
              for i in with_rep for x in orig_reps[i].repeats if x.kind != "line"]
    print(f"originals: {n_o} untouched; {len(with_rep)} with a body/paragraph repeat reported "
          f"({len(ratios)} reports; word ratio copy vs source: "
          f">= 0.95: {sum(x >= 0.95 for x in ratios)}, 0.8-0.95: {sum(0.8 <= x < 0.95 for x in ratios)}, "
          f"0.5-0.8: {sum(0.5 <= x < 0.8 for x in ratios)}, < 0.5: {sum(x < 0.5 for x in ratios)})")
    results.append(("originals with a body/paragraph repeat (raw)", f"{len(with_rep) / n_o:.2%} "
                    f"({len(with_rep)}/{n_o})", "info: real repeats in the data", None))
    results.append(("false reports (unconfirmed) on originals", f"{len(unconfirmed) / n_o:.2%} "
                    f"({len(unconfirmed)}/{n_o})", f"<= {TARGET_FALSE:.0%}", len(unconfirmed) / n_o <= TARGET_FALSE))
    results.append(("originals with `line` repeats", f"{with_lines / n_o:.2%} ({with_lines}/{n_o})", "info", None))

    # -- speed --
    numba.set_num_threads(1)
    texts, with_planted = speed_corpus(args.docs, seeds[0])
    mean_words = float(np.mean([len(t.split()) for t in texts]))
    run_repeats(texts[:300])  # warm-up (compilation, caches)
    syn = run_repeats(texts)
    syn_false = sum(r.repeated for i, r in enumerate(syn) if i not in with_planted)
    n_untouched = len(texts) - len(with_planted)
    results.append(("false reports on generated articles", f"{syn_false / n_untouched:.2%} "
                    f"({syn_false}/{n_untouched:,})", f"<= {TARGET_FALSE:.0%}",
                    syn_false / n_untouched <= TARGET_FALSE))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        run_repeats(texts)
        best = min(best, time.perf_counter() - t0)
    rate = len(texts) / best
    stages = stage_times(texts)
    total = sum(stages.values())
    print(f"speed corpus: {len(texts):,} generated articles, {mean_words:.0f} words on average (5% body doubled, "
          f"5% a paragraph repeated); 1 thread")
    print("find_repeats stages: " + ", ".join(f"{k} {v:.2f}s ({v / total:.0%}; {len(texts) / v:,.0f} docs/s)"
                                                for k, v in stages.items()))
    results.append(("find_repeats speed, 1 core", f"{rate:,.0f} articles/s", f">= {TARGET_SPEED:,.0f}/s",
                    rate >= TARGET_SPEED))

    docs = [Document(f"{i:07d}", t) for i, t in enumerate(texts)]
    on, off = Config(repeats=RepeatParams(clean=True)), Config(repeats=RepeatParams(clean=False))
    find(docs[:300], on), find(docs[:300], off)  # warm-up
    t_on, t_off, ratios_t = [], [], []
    cleaned = 0
    for rnd in range(args.rounds):
        order = (on, off) if rnd % 2 == 0 else (off, on)
        got = {}
        for cfg in order:
            t0 = time.perf_counter()
            res = find(docs, cfg)
            got[cfg.repeats.clean] = time.perf_counter() - t0
            if cfg.repeats.clean:
                cleaned = len(res.cleaned)
        t_on.append(got[True])
        t_off.append(got[False])
        ratios_t.append(got[True] / got[False] - 1)
    slowdown = statistics.median(ratios_t)
    print(f"find(): clean=True {statistics.median(t_on):.2f}s, clean=False {statistics.median(t_off):.2f}s "
          f"(medians of {args.rounds} alternated rounds; {cleaned:,} documents cleaned); per-round slowdowns "
          + ", ".join(f"{x:+.1%}" for x in ratios_t))
    results.append(("find() slowdown with cleaning (median)", f"{slowdown:+.1%}", f"<= {TARGET_SLOWDOWN:.0%}",
                    slowdown <= TARGET_SLOWDOWN))

    # -- the table --
    print()
    width = max(len(m) for m, *_ in results)
    print(f"{'measure':<{width}}  {'value':>24}  {'target':>32}  result")
    print("-" * (width + 72))
    for measure, value, target, ok in results:
        print(f"{measure:<{width}}  {value:>24}  {target:>32}  {'-' if ok is None else verdict(ok)}")
    failed = [m for m, _, _, ok in results if ok is False]

    if args.show or failed:
        if misses:
            print()
            print(f"missed planted copies ({len(misses)}; first 10):")
            for p, (s, e), r in misses[:10]:
                best_cov = max((covered([(x.start, x.end)], s, e) for x in r.repeats if x.kind != "line"), default=0)
                print(f"  {p.case:<7} {p.doc_id[:12]} copy [{s}, {e}) {len(words(p.text[s:e]))} words; best cover "
                      f"{best_cov:.0%}; reported {[(x.kind, x.start, x.end) for x in r.repeats]}")
        if args.show:
            print()
            print("reports on untouched originals:")
            for i in with_rep:
                for x in orig_reps[i].repeats:
                    if x.kind != "line":
                        print(f"  {i[:12]} {x.kind} [{x.start}, {x.end}) from [{x.source_start}, {x.source_end}) "
                              f"sim {x.similarity:.2f}: {originals[i][x.start:x.end][:70]!r}")
    print()
    print("* among doubled articles whose original has no body/paragraph repeat of its own")
    print("FAILED: " + "; ".join(failed) if failed else "ok: every target met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
