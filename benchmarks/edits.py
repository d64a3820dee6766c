"""Seeded, deterministic generators of edited copies of news articles.

Used by the recall/defaults benchmarks. Every random choice goes through a
``numpy.random.Generator``; per-variant generators are derived from
(seed, doc_id, kind) with blake2b, never Python's hash() or global random state.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_NEWS_CLUSTER = REPO / ".." / "shared" / "data" / "news_cluster" / "news_cluster.jsonl"

COMMON_WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which "
    "but have an they you were their one all we can her has there been if more when will would who "
    "so no said also new after first year people two over about time could than other says city"
).split()

# Paragraph separators are kept verbatim: any run of whitespace containing a newline.
_SEP = re.compile(r"(\s*\n\s*)")

RECIPE = ("edit02", "edit05", "edit10", "edit15", "boiler", "boiler_edit05",
          "trunc90", "trunc75", "trunc90_edit05")

_OUTLETS = ("The Example Times", "Example Wire", "Daily Sample", "The Placeholder Post")
_CITIES = ("LONDON", "NEW YORK", "WASHINGTON", "PARIS", "BERLIN", "TOKYO", "SYDNEY")
_HEADERS = (
    "{city} ({outlet}) -",
    "By {author}, {outlet}",
    "Advertisement",
    "Share this article on Facebook Twitter Email",
)
_FOOTERS = (
    "Sign up for our newsletter to get the top stories delivered to your inbox every morning.",
    "Copyright {year} {outlet}. All rights reserved.",
    "Read more: The stories you may have missed this week",
    "Follow us on Twitter and Facebook for the latest news.",
    "This material may not be published, broadcast, rewritten or redistributed.",
    "Reporting by {author}; Editing by {editor}",
)
_NAMES = ("Jane Smith", "John Doe", "Maria Garcia", "David Chen", "Sarah Jones")


def _pick(seq, rng: np.random.Generator):
    return seq[int(rng.integers(len(seq)))]


def edit_words(text: str, rate: float, rng: np.random.Generator) -> str:
    """Insert, delete or replace round(rate * n_words) distinct words (ops equally likely).

    Paragraph breaks are preserved verbatim; edited paragraphs have their words
    re-joined with single spaces, untouched paragraphs are kept exactly.
    """
    parts = _SEP.split(text)  # even indices: paragraphs, odd: separators
    paras = [parts[i].split() for i in range(0, len(parts), 2)]
    index = [(p, w) for p, words in enumerate(paras) for w in range(len(words))]
    k = min(len(index), int(round(rate * len(index))))
    if k == 0:
        return text
    vocab = sorted({w for words in paras for w in words} | set(COMMON_WORDS))
    ops: dict[tuple[int, int], int] = {}
    for pos, op in zip(rng.choice(len(index), size=k, replace=False), rng.integers(0, 3, size=k)):
        ops[index[int(pos)]] = int(op)
    out = list(parts)
    for p, words in enumerate(paras):
        if not any((p, w) in ops for w in range(len(words))):
            continue
        new: list[str] = []
        for w, word in enumerate(words):
            op = ops.get((p, w))
            if op == 0 and len(words) > 1:  # delete (never empty a paragraph)
                continue
            if op in (0, 1):  # replace with a different word
                choice = _pick(vocab, rng)
                new.append(choice if choice != word else vocab[(vocab.index(word) + 1) % len(vocab)])
                continue
            if op == 2:  # insert before the word
                new.append(_pick(vocab, rng))
            new.append(word)
        out[2 * p] = " ".join(new)
    return "".join(out)


def add_boilerplate(text: str, rng: np.random.Generator) -> str:
    """Prepend and/or append outlet boilerplate (byline/dateline, newsletter, copyright ...)."""
    sep = "\n\n" if "\n\n" in text else "\n"
    fill = dict(city=_pick(_CITIES, rng), outlet=_pick(_OUTLETS, rng), author=_pick(_NAMES, rng),
                editor=_pick(_NAMES, rng), year=int(rng.integers(2010, 2024)))
    mode = int(rng.integers(3))  # 0: prepend, 1: append, 2: both
    if mode in (0, 2):
        header = _pick(_HEADERS, rng).format(**fill)
        # a dateline runs into the first paragraph; other headers get their own
        text = header + (" " if header.endswith("-") else sep) + text
    if mode in (1, 2):
        n = int(rng.integers(1, 3))
        idx = sorted(rng.choice(len(_FOOTERS), size=n, replace=False))
        text = text + sep + sep.join(_FOOTERS[int(i)].format(**fill) for i in idx)
    return text


def truncate(text: str, keep: float, rng: np.random.Generator | None = None) -> str:
    """Keep the first round(keep * n_words) words, cut right after the last kept word.

    The result is a verbatim prefix of ``text`` (so paragraph breaks before the cut
    are preserved). ``rng`` is accepted for a uniform signature and not used.
    """
    spans = [m.end() for m in re.finditer(r"\S+", text)]
    k = max(0, min(len(spans), int(round(keep * len(spans)))))
    if k == len(spans):
        return text
    return text[: spans[k - 1]] if k else ""


def variant_rng(seed: int, doc_id: str, kind: str) -> np.random.Generator:
    digest = hashlib.blake2b(f"{seed}|{doc_id}|{kind}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def _apply(kind: str, text: str, rng: np.random.Generator) -> str:
    if kind.startswith("trunc"):
        text = truncate(text, int(kind[5:7]) / 100, rng)
    m = re.search(r"edit(\d\d)", kind)
    if m:
        text = edit_words(text, int(m.group(1)) / 100, rng)
    if kind.startswith("boiler"):
        text = add_boilerplate(text, rng)
    return text


def make_variants(doc_id: str, text: str, seed: int) -> list[tuple[str, str, str]]:
    """(new_id, kind, text) for each kind in RECIPE; new_id = f"{doc_id}~{kind}"."""
    return [(f"{doc_id}~{kind}", kind, _apply(kind, text, variant_rng(seed, doc_id, kind)))
            for kind in RECIPE]


def load_news_cluster(path: str | Path | None = None) -> list[dict] | None:
    """Read news_cluster JSONL; default path is <repo>/../shared/data/news_cluster/. None if absent."""
    p = Path(path) if path is not None else DEFAULT_NEWS_CLUSTER
    if not p.is_file():
        return None
    with p.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def edited_corpus(articles: list[dict], seed: int = 0, per_article: int | None = None) -> list[dict]:
    """Originals plus their variants (all of RECIPE, or a seeded subset of ``per_article``)."""
    out = []
    for a in articles:
        doc_id = str(a["doc_id"])
        title, body = (a.get("title") or "").strip(), a.get("text") or ""
        base = dict(source=a.get("source_domain"), published=a.get("date_publish"), event=a.get("event"))
        text = f"{title}\n\n{body}" if title else body
        out.append(dict(id=doc_id, text=text, kind="original", variant_of=None, **base))
        variants = make_variants(doc_id, text, seed)
        if per_article is not None and per_article < len(variants):
            keep = variant_rng(seed, doc_id, "subset").choice(len(variants), size=max(0, per_article),
                                                              replace=False)
            variants = [variants[i] for i in sorted(int(i) for i in keep)]
        out.extend(dict(id=vid, text=vt, kind=kind, variant_of=doc_id, **base) for vid, kind, vt in variants)
    return out


def main(argv: list[str]) -> int:
    """Usage: python benchmarks/edits.py [OUT.jsonl|-] [SEED] [PER_ARTICLE]"""
    articles = load_news_cluster()
    if articles is None:
        print(f"news_cluster data not found at {DEFAULT_NEWS_CLUSTER}; nothing to do.", file=sys.stderr)
        return 0
    seed = int(argv[2]) if len(argv) > 2 else 0
    per_article = int(argv[3]) if len(argv) > 3 else None
    corpus = edited_corpus(articles, seed=seed, per_article=per_article)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus)
    if len(argv) > 1 and argv[1] != "-":
        Path(argv[1]).write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    n_var = sum(r["variant_of"] is not None for r in corpus)
    print(f"{len(articles)} originals, {n_var} variants, {len(corpus)} documents", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
