"""Stories in the persistent index: each article joins a story as it arrives.

:func:`dedup.stories.find_stories` groups a whole corpus at once (average linkage over
scored anchor/word links). An index cannot re-cluster its archive for every new article,
so here an article is scored against the articles already indexed, as the batch scores a
pair, and joins a story the way average linkage merges two groups:

1. **What is kept** (``story_docs``, ``apost``, see :mod:`dedup.index_store`): the
   article's anchors (:func:`dedup.anchors.anchor_set` of title + text, in its language:
   ``lang`` or detected), its story time (``published``, else a dateline), its word
   counts (scikit-learn's tokens, the headline twice, as 32-bit hashes), and document
   frequencies: of each anchor, of each word per language, of each language.
2. **Candidates**: the articles sharing an anchor with it, through the postings of each
   anchor held by at most ``max_df`` of the documents (the batch leaves the same ones
   out of its anchor LSH), at most ``max_bucket`` (the latest) per anchor; the
   :data:`CANDIDATES` sharing most anchors are kept, plus its near-duplicates with
   word 2-gram Jaccard >= ``copy_threshold`` among the index's verified pairs (``copy``
   links, score 1, as the batch's).
3. **Score** of a pair (all candidates of an article at once: :class:`Scorer`): the
   batch's formula (rarity-weighted anchor containment, blended with the TF-IDF word
   cosine within one language, offset across languages, date penalties,
   ``min_shared``/``word_link``/``min_score``), with the rarities of the index as it is
   when the article arrives (the article itself included).
4. **Join**: every story holding a candidate with a positive score is scored in full:
   the mean of the article's scores with all its members (a member without a link
   counts 0), which is average linkage's merge criterion for a group of one. The
   article joins the story with the highest mean if it is at least ``threshold``
   (ties: the smaller story name), or starts its own story, named by its id. The
   pairs with a positive score inside the story are kept as its links.

Where this differs from ``dedup stories`` on the same documents, and why:

- **Order**: a story is built in arrival order and never merges with another story,
  nor does an article ever move. The batch builds bottom-up (best pairs first) and
  merges groups of any size; an article arriving before the ones that would tie it
  to a story starts its own. Adding the same articles in the same order gives the
  same stories whether they come one at a time or in batches of any size (tested).
- **Rarity drift**: anchor and word weights are those of the index when the article
  arrived, not of the final corpus; early articles are scored against a small corpus
  (in a corpus of two, every shared anchor is rare).
- **No topic model**: the batch's latent-topic (LSA) part of the word similarity needs
  the whole corpus; here the word similarity is the TF-IDF cosine alone.
- **Candidates**: anchor postings (the articles sharing most anchors) instead of MinHash
  LSH over anchor sets; copies are the index's own pairs, so with an index threshold
  above ``copy_threshold`` copies between the two are missed.
- **Exports** keep the links of when each article joined (scores with the rarities of
  that time); copy links have no ``shared_passages`` evidence (texts are not stored).

Measured (``python benchmarks/index_bench.py --agreement``): on the example corpus the
exported stories.jsonl equals the batch's byte for byte in any arrival order (tested).
B-cubed F1 against gold events, news_cluster (383 English articles): batch 0.942, batch
without its topic model 0.830, index 0.820 / 0.840 / 0.832 (publication, id, shuffled
order); meantime (480 articles, 4 languages): batch 0.986, index 0.980-0.984. The gap
is the topic model, not the arrival order.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterable, Sequence

import numpy as np

from .index_store import Backend
from .index_story_items import ITEM_COLUMNS, LETTER_KIND, Item, anchor_hash, anchors_json, items_from_rows, terms_blob
from .index_story_scores import Counts, Numbered, Scored, Scorer, numbered_positions
from .stories import Link, StoriesResult, Story, StoryParams

__all__ = ["CANDIDATES", "STORED_FIELDS", "StoryGuess", "StoryIndex", "story_params", "story_settings"]

# StoryParams fields the stored stories depend on (meta.params.stories); the others (LSH over anchor sets,
# the LSA topic model, evidence) are not used by the index.
STORED_FIELDS = ("threshold", "min_score", "min_shared", "word_weight", "word_link", "cross_offset", "window_days",
                 "far_penalty", "season_days", "season_penalty", "max_df", "max_bucket", "copy_threshold")
SNAPSHOT_ARTICLES = 20_000  # stored articles a snapshot keeps (~5 KB each read back: ~100 MB), then a new one
SNAPSHOT_ANCHORS = 1_000_000  # anchors a snapshot numbers (~90 bytes each), then a new one
SNAPSHOT_WORDS = 1_000_000  # words a snapshot numbers, all languages (~90 bytes each), then a new one
SNAPSHOT_POSTINGS = 50_000  # anchors whose postings a snapshot keeps (at most max_bucket keys each), then none
CANDIDATES = 50  # scored per new article: those sharing the most anchors (200 gave the same stories on news_cluster)


def story_settings(params: StoryParams) -> dict:
    return {f: getattr(params, f) for f in STORED_FIELDS}


def story_params(settings: dict) -> StoryParams:
    return StoryParams(**{f: settings[f] for f in STORED_FIELDS})


@dataclass(frozen=True)
class StoryGuess:
    """The story a queried article would join: ``story`` None when it would start its own."""

    story: str | None
    score: float  # mean score with the story's members (0 for a new story)
    size: int  # members of that story now


# -- storing articles ------------------------------------------------------------------------------------------

def _postings_of(items: Sequence[Item]) -> list[tuple[int, int]]:
    """The ``apost`` rows of ``items``: (anchor hash, article key), sorted."""
    hashes = np.concatenate([i.hashes for i in items])
    keys = np.repeat(np.array([i.key for i in items], np.int64), [len(i.hashes) for i in items])
    order = np.lexsort((keys, hashes))
    return list(zip(hashes[order].tolist(), keys[order].tolist()))


def _counted(keys: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The distinct ``keys`` (sorted, as Python ints) and how often each occurs: a batch's ~300 words an article
    counted by ``Counter`` over tuples cost ~0.15 ms an article."""
    distinct, n = np.unique(keys, return_counts=True)
    return distinct.tolist(), n.astype(np.int64)


# -- placing articles ------------------------------------------------------------------------------------------

@dataclass
class _Placed:
    item: Item
    guess: StoryGuess
    links: list[tuple[Item, Scored]]


_NONE = np.empty(0, np.int64)


def _most_found(keys: np.ndarray, k: int) -> list[int]:
    """The ``k`` keys found most often in ``keys``, ties to the larger (later) key; one sort in numpy instead of
    a ``Counter`` and a Python sort over the ~2,000 articles a query's anchors reach at 20,000 indexed."""
    found, n = np.unique(keys, return_counts=True)
    return found[np.lexsort((-found, -n))[:k]].tolist()


@dataclass
class _Snapshot:
    """Story tables as placing articles read them, at one SQLite ``data_version`` (see
    :meth:`StoryIndex._snapshot`): what was read is kept, and this connection's own writes are followed."""

    version: int
    load_adf: Callable[[list[int]], dict[int, int]]  # stored frequencies of anchors
    load_tdf: Callable[[str, list[int]], dict[int, int]]  # stored frequencies of a language's words
    anchors: Numbered = field(init=False)
    words: dict[str, Numbered] = field(default_factory=dict)  # per language
    items: dict[int, Item] = field(default_factory=dict)  # stored article key -> Item
    anchor_at: dict[int, np.ndarray] = field(default_factory=dict)  # stored article key -> its anchors' numbers
    term_at: dict[int, np.ndarray] = field(default_factory=dict)  # stored article key -> its words' numbers
    postings: dict[int, np.ndarray] = field(default_factory=dict)  # anchor hash -> latest holders, descending
    members: dict[str, list[int]] = field(default_factory=dict)  # story -> every member's key, as read

    def __post_init__(self) -> None:
        self.anchors = Numbered(self.load_adf)

    def language(self, item: Item) -> Numbered:
        """The numbered words of the item's language."""
        if (words := self.words.get(item.lang)) is None:
            words = self.words[item.lang] = Numbered(partial(self.load_tdf, item.lang))
        return words

    @property
    def too_big(self) -> bool:
        return (len(self.items) > SNAPSHOT_ARTICLES or len(self.anchors) > SNAPSHOT_ANCHORS
                or sum(map(len, self.words.values())) > SNAPSHOT_WORDS)

    def wrote(self, items: Sequence[Item], max_bucket: int) -> None:
        """Follow this connection's own write of ``items`` (placed, with their keys and stories), so that the
        next article placed (``dedup index assign``: one a transaction) reads none of it again. The anchor and
        word frequencies were counted in place as the items were placed; each item goes first in the
        postings kept of its anchors (its key is above every stored one's)."""
        new: dict[int, list[int]] = {}
        for i in items:
            for h in i.hashes.tolist():
                if h in self.postings:
                    new.setdefault(h, []).append(i.key)
        for h, keys in new.items():
            self.postings[h] = np.concatenate((np.array(keys[::-1], np.int64), self.postings[h]))[:max_bucket]
        for i in items:  # a story not read yet (a new one among them) is read when needed
            if (keys := self.members.get(i.story)) is not None:
                keys.append(i.key)
        self.items.update((i.key, i) for i in items)


class StoryIndex:
    """The story tables of one index (``db``), placed with ``params``."""

    def __init__(self, db: Backend, params: StoryParams) -> None:
        self.db, self.p = db, params
        self._cache: _Snapshot | None = None

    # adding and querying -----------------------------------------------------------------------------------

    def add(self, items: Sequence[Item], copies: set[tuple[int, int]]) -> None:
        """Place ``items`` in order (inside the caller's write transaction) and store them. The caller calls
        :meth:`forget` if that transaction does not commit."""
        if not items:
            return
        placed = self._place(items, copies, carry=True)
        db = self.db
        db.insert("story_docs", ("doc", "lang", "ts", "story", "anchors", "terms"),
                  [(i.key, i.lang, i.ts, i.story, anchors_json(i.anchors), terms_blob(i)) for i in items])
        db.insert("apost", ("key", "doc"), _postings_of(items))
        self._bump(items, 1)
        if self._cache is not None:
            self._cache.wrote(items, self.p.max_bucket)
        ids = self._ids({other.key for p in placed for other, _ in p.links if other.id is None})
        links = []
        for p in placed:
            for other, s in p.links:
                a, b = sorted((p.item, other), key=lambda x: ids[x.key] if x.id is None else x.id)
                links.append((a.key, b.key, s.score, int(s.copy), round(s.anchor, 6),
                               None if s.word is None else round(s.word, 6)))
        db.insert("story_links", ("a", "b", "score", "kind", "anchor", "word"), links)

    def forget(self) -> None:
        """Drop what was kept of the story tables (a write of this connection was rolled back)."""
        self._cache = None

    def guess(self, items: Sequence[Item], copies: set[tuple[int, int]],
              twins: dict[int, int] | None = None) -> list[StoryGuess]:
        """The story each item would join (each alone, nothing stored); ``twins``: item key -> the key of the
        stored article of the same id, which is not a candidate."""
        return [p.guess for p in self._place(items, copies, carry=False, twins=twins or {})] if items else []

    def _bump(self, items: Sequence[Item], sign: int) -> tuple[list[int], dict[str, list[int]]]:
        """Add the items to the stored frequencies (``sign`` -1: take them away); returns the anchors and the
        words by language that they hold."""
        anchors, n = _counted(np.concatenate([i.hashes for i in items]))
        self.db.increment("anchor_df", ("key",), "df", list(zip(anchors, (sign * n).tolist())))
        words, rows, langs = {}, [], []
        for lang in sorted({i.lang for i in items}):
            same = [i for i in items if i.lang == lang]
            words[lang], n = _counted(np.concatenate([i.terms for i in same]))
            rows += zip([lang] * len(n), words[lang], (sign * n).tolist())
            langs.append((lang, sign * len(same)))
        self.db.increment("term_df", ("lang", "term"), "df", rows)
        self.db.increment("lang_n", ("lang",), "n", langs)
        return anchors, words

    def _load_adf(self, hashes: Iterable[int]) -> dict[int, int]:
        """The stored frequencies of these anchors (absent: not stored)."""
        wanted = sorted(set(hashes))
        return dict(self.db.rows(f"SELECT key, df FROM anchor_df WHERE {self.db.any('key')}",
                                 (self.db.arg(wanted),))) if wanted else {}

    def _load_tdf(self, lang: str, terms: list[int]) -> dict[int, int]:
        """The stored frequencies of these words of ``lang`` (absent: not stored)."""
        return dict(self.db.rows(f"SELECT term, df FROM term_df WHERE lang = ? AND {self.db.any('term')}",
                                 (lang, self.db.arg(terms))))

    def _postings(self, hashes: list[int], snap: _Snapshot) -> dict[int, np.ndarray]:
        """Per anchor, the keys of its latest ``max_bucket`` holders stored, descending; kept in ``snap``: the
        anchors of news recur, and reading ~60 anchors' postings (up to 100 rows each) was a fifth of a query
        at 100,000 indexed."""
        kept = snap.postings
        if len(kept) > SNAPSHOT_POSTINGS:
            kept.clear()
        missing = [h for h in hashes if h not in kept]
        got = self.db.postings(missing, self.p.max_bucket)
        kept.update((h, got.get(h, _NONE)) for h in missing)
        return {h: kept[h] for h in hashes}

    def _members(self, keys: list[int], snap: _Snapshot) -> list[Item]:
        """Every member of the stories of the stored articles ``keys``; the stories and articles in ``snap``
        are not read and parsed again."""
        db = self.db
        stories = {snap.items[k].story for k in keys if k in snap.items}
        if unknown := [k for k in keys if k not in snap.items]:  # their stories and those stories' members at once
            read: dict[str, list[int]] = {}
            for story, key in db.rows(f"SELECT DISTINCT m.story, m.doc FROM story_docs AS s JOIN story_docs AS m "
                                      f"ON m.story = s.story WHERE {db.any('s.doc')}", (db.arg(unknown),)):
                read.setdefault(story, []).append(key)
            stories.update(read)
            snap.members.update((s, sorted(ks)) for s, ks in read.items() if s not in snap.members)
        if missing := sorted(s for s in stories if s not in snap.members):
            snap.members.update((s, []) for s in missing)
            for story, key in db.rows(f"SELECT story, doc FROM story_docs WHERE {db.any('story', 'text')}",
                                      (db.arg(missing),)):
                snap.members[story].append(key)
        keys = [k for s in sorted(stories) for k in snap.members[s]]
        snap.items.update((i.key, i) for i in self._items("s.doc", [k for k in keys if k not in snap.items]))
        return [snap.items[k] for k in keys]

    def _snapshot(self) -> _Snapshot:
        """What placing articles read of the story tables, kept while valid: with SQLite until another
        connection commits (``PRAGMA data_version``); this one's :meth:`add` updates it as it writes
        (:meth:`_Snapshot.wrote`), :meth:`remove` and a rolled back write drop it. Where there is no such
        signal (PostgreSQL) a new one is made for each placement: everything is read again."""
        con = getattr(self.db, "con", None)
        if not isinstance(con, sqlite3.Connection):
            return _Snapshot(-1, self._load_adf, self._load_tdf)
        version = con.execute("PRAGMA data_version").fetchone()[0]
        if self._cache is None or self._cache.version != version or self._cache.too_big:
            self._cache = _Snapshot(version, self._load_adf, self._load_tdf)
        return self._cache

    def _items(self, where: str, values: Iterable, kind: str = "int", ids: bool = False) -> list[Item]:
        """Stored articles; their ids (``docs``) only with ``ids``, else None: placing reads ~50 articles an
        article, and the join to ``docs`` was a third of those reads at 1,000,000 indexed."""
        values = sorted(set(values))
        if not values:
            return []
        source = "story_docs AS s JOIN docs AS d ON d.doc = s.doc" if ids else "story_docs AS s"
        columns = ITEM_COLUMNS if ids else ITEM_COLUMNS.replace("d.id", "NULL")
        return items_from_rows(self.db.rows(f"SELECT {columns} FROM {source} WHERE {self.db.any(where, kind)}",
                                            (self.db.arg(values),)))

    def _ids(self, keys: Iterable[int]) -> dict[int, str]:
        """The ids of stored articles."""
        keys = sorted(set(keys))
        return dict(self.db.rows(f"SELECT doc, id FROM docs WHERE {self.db.any('doc')}",
                                 (self.db.arg(keys),))) if keys else {}

    def _candidates(self, items: Sequence[Item], copies: set[tuple[int, int]], lang_n: dict[str, int],
                    stored_df: dict[int, int], carry: bool, snap: _Snapshot) -> list[list[int]]:
        """Per item, the keys of the articles it is scored against (see the module docstring, step 2)."""
        p = self.p
        n0 = sum(lang_n.values())
        cap_end = max(2, int(p.max_df * (n0 + (len(items) if carry else 1))))
        wanted = sorted({h for i in items for h in i.hashes.tolist() if 0 < stored_df.get(h, 0) <= cap_end})
        stored = self._postings(wanted, snap)
        partners: dict[int, set[int]] = {}
        for a, b in copies:
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
        batch_keys = {i.key for i in items}
        seen: dict[int, list[int]] = {}  # anchor -> earlier items holding it, in arrival order
        inc: Counter = Counter()
        out, n, done = [], n0, set()
        for item in items:
            hashes = item.hashes.tolist()
            n = n + 1 if carry else n0 + 1
            cap = max(2, int(p.max_df * n))
            found: list[np.ndarray] = []
            for h in hashes:
                if stored_df.get(h, 0) + inc[h] + 1 > cap:
                    continue
                held = stored.get(h, _NONE)
                if carry and (latest := seen.get(h, [])[-p.max_bucket:][::-1]):
                    found.append(np.array(latest, np.int64))
                    held = held[:p.max_bucket - len(latest)]
                found.append(held)
            ranked = _most_found(np.concatenate(found) if found else _NONE, CANDIDATES)
            present = [k for k in partners.get(item.key, ()) if k not in batch_keys or k in done]
            out.append(sorted(set(ranked) | set(present)))
            if carry:
                for h in hashes:
                    inc[h] += 1
                    seen.setdefault(h, []).append(item.key)
                done.add(item.key)
        return out

    def _place(self, items: Sequence[Item], copies: set[tuple[int, int]], carry: bool,
               twins: dict[int, int] | None = None) -> list[_Placed]:
        """Place each item in order; with ``carry`` each placed item counts for the next (an add)."""
        db = self.db
        snap = self._snapshot()
        lang_n = dict(db.rows("SELECT lang, n FROM lang_n"))
        anchor_at = numbered_positions(items, snap.anchor_at, lambda i: snap.anchors, lambda i: i.hashes)
        adf = {h: df for i in items  # stored frequencies (0: not stored), before placing any
               for h, df in zip(i.hashes.tolist(), snap.anchors.df[anchor_at[i.key]].tolist())}
        cands = self._candidates(items, copies, lang_n, adf, carry, snap)
        batch_keys = {i.key for i in items}
        stored = sorted({k for c in cands for k in c if k not in batch_keys})
        known = {i.key: i for i in self._members(stored, snap)}  # every member of every story in play
        members: dict[str, list[int]] = {}
        for i in sorted(known.values(), key=lambda i: i.key):
            members.setdefault(i.story, []).append(i.key)
        others = list(known.values())
        anchor_at.update(numbered_positions(others, snap.anchor_at, lambda i: snap.anchors, lambda i: i.hashes))
        counts = Counts(lang_n, snap.anchors, snap.words, anchor_at,
                        numbered_positions(list(items) + others, snap.term_at, snap.language, lambda i: i.terms))
        try:
            return self._place_each(items, cands, copies, carry, counts, known, members, twins or {})
        except BaseException:
            self.forget()  # the snapshot's anchor frequencies may count an article not placed
            raise

    def _place_each(self, items: Sequence[Item], cands: list[list[int]], copies: set[tuple[int, int]], carry: bool,
                    counts: Counts, known: dict[int, Item], members: dict[str, list[int]],
                    twins: dict[int, int]) -> list[_Placed]:
        """Place each item among ``known`` (by key; ``members``: story -> keys), the stories of its candidates
        ``cands`` but its twin (the stored article of its id); see the module docstring, steps 3 and 4."""
        p = self.p
        out = []
        for item, cand in zip(items, cands):
            counts.add(item)
            score = Scorer(counts, p, copies, item)
            twin = twins.get(item.key)
            others = [known[k] for k in cand if k in known and k != twin]
            stories = sorted({o.story for o, s in zip(others, score(others)) if s.score > 0})
            score([known[m] for s in stories for m in members[s]])  # every member of those stories at once
            best: tuple[float, str] | None = None
            for s in stories:
                mean = sum(score.scored[m].score for m in members[s]) / len(members[s])
                if mean >= p.threshold - 1e-12 and (best is None or mean > best[0]):
                    best = (mean, s)
            if best is None:
                guess, links = StoryGuess(None, 0.0, 0), []
            else:
                guess = StoryGuess(best[1], round(best[0], 6), len(members[best[1]]))
                links = [(known[m], sc) for m in members[best[1]] if (sc := score.scored[m]).score > 0]
            score.release()
            out.append(_Placed(item, guess, links))
            if carry:
                item.story = guess.story or item.id
                known[item.key] = item
                members.setdefault(item.story, []).append(item.key)
            else:
                counts.add(item, -1)
        return out

    # reading -----------------------------------------------------------------------------------------------

    def story_of(self, key: int) -> tuple[str, tuple[str, ...]] | None:
        """(story name, member ids in id order) of a stored article."""
        row = self.db.rows("SELECT story FROM story_docs WHERE doc = ?", (key,))
        if not row:
            return None
        ids = sorted(r[0] for r in self.db.rows("SELECT d.id FROM story_docs AS s JOIN docs AS d ON d.doc = s.doc "
                                                "WHERE s.story = ?", (row[0][0],)))
        return row[0][0], tuple(ids)

    def remove(self, keys: Sequence[int]) -> None:
        """Forget articles (inside the caller's transaction); the stories they were in keep their names."""
        db = self.db
        gone = self._items("s.doc", keys)
        if not gone:
            return
        self._cache = None
        anchors, words = self._bump(gone, -1)
        # frequencies that fell to 0 go (only among those touched: the tables are large)
        db.rows(f"DELETE FROM anchor_df WHERE df <= 0 AND {db.any('key')}", (db.arg(anchors),))
        for lang, terms in words.items():
            db.rows(f"DELETE FROM term_df WHERE lang = ? AND df <= 0 AND {db.any('term')}", (lang, db.arg(terms)))
        db.rows("DELETE FROM lang_n WHERE n <= 0")
        db.many("DELETE FROM apost WHERE key = ? AND doc = ?", _postings_of(gone))
        arg = db.arg([i.key for i in gone])
        db.rows(f"DELETE FROM story_links WHERE {db.any('a')}", (arg,))
        db.rows(f"DELETE FROM story_links WHERE {db.any('b')}", (arg,))
        db.rows(f"DELETE FROM story_docs WHERE {db.any('doc')}", (arg,))

    def result(self) -> StoriesResult:
        """The stored stories as :func:`dedup.stories.find_stories` reports them (numbered the same way)."""
        db = self.db
        rows = db.rows("SELECT s.doc, d.id, s.lang, s.ts, s.story, s.anchors, d.source, d.published "
                       "FROM story_docs AS s JOIN docs AS d ON d.doc = s.doc")
        by_key = {r[0]: r for r in rows}
        groups: dict[str, list[tuple]] = {}
        for r in rows:
            groups.setdefault(r[4], []).append(r)
        multi = sorted((sorted(g, key=lambda r: r[1]) for g in groups.values() if len(g) > 1), key=lambda g: g[0][1])
        stories, labels = [], {}
        for number, g in enumerate(multi, start=1):
            dated = [r for r in g if math.isfinite(r[3])]
            origin = min(dated, key=lambda r: (r[3], r[1])) if dated else None
            stories.append(Story(number, tuple(r[1] for r in g), tuple(sorted({r[2] for r in g})),
                                 tuple(sorted({r[6] for r in g if r[6]})), origin[7] if origin else None,
                                 origin[1] if origin else None))
            labels.update((r[1], number) for r in g)
        next_label = len(multi) + 1
        for r in sorted(rows, key=lambda r: r[1]):
            if r[1] not in labels:
                labels[r[1]] = next_label
                next_label += 1
        n = sum(r[0] for r in db.rows("SELECT n FROM lang_n"))
        stored = db.rows("SELECT a, b, score, kind, anchor, word FROM story_links")
        anchors = {k: json.loads(by_key[k][5]) for k in {k for r in stored for k in r[:2]}}
        df = self._load_adf(anchor_hash(k) for a, b, *_ in stored for k in set(anchors[a]) & set(anchors[b]))
        links = sorted((self._link(by_key[a], by_key[b], anchors[a], anchors[b], score, kind, anchor, word, n, df)
                        for a, b, score, kind, anchor, word in stored), key=lambda l: (l.a, l.b))
        stats = {"documents": len(rows), "stories": len(stories),
                 "documents_in_stories": sum(len(s.members) for s in stories), "links": len(links)}
        return StoriesResult(StoryParams(**story_settings(self.p)), stories, links, labels,
                             {r[1]: r[2] for r in rows}, stats)

    def _link(self, a: tuple, b: tuple, anchors_a: dict, anchors_b: dict, score: float, kind: int, anchor: float,
              word: float | None, n: int, df: dict[int, int]) -> Link:
        """A link record as the batch writes it (``a`` has the smaller id); evidence ranked by today's rarities."""
        direction = None
        if math.isfinite(a[3]) and math.isfinite(b[3]):
            first, second = (a, b) if (a[3], a[1]) <= (b[3], b[1]) else (b, a)
            direction = {"from": first[1], "to": second[1]}
        shared = sorted(set(anchors_a) & set(anchors_b))
        order = sorted(shared, key=lambda k: (-math.log((n + 1) / max(1, df.get(anchor_hash(k), 1))), k))
        evidence: dict = {"names": [], "numbers": [], "dates": []}
        for k in order[:self.p.max_evidence]:
            what = LETTER_KIND.get(anchors_a[k], "name")
            evidence["numbers" if what in ("number", "percent") else "dates" if what == "date" else "names"].append(k)
        evidence["shared_anchors"] = len(shared)
        evidence["anchor_score"] = anchor
        if word is not None:
            evidence["word_similarity"] = word
        return Link(a[1], b[1], score, "copy" if kind else "rewrite", direction, evidence)

    # checking ----------------------------------------------------------------------------------------------

    def check(self, docs: dict[int, tuple[str, int]]) -> list[str]:
        """Problems in the story tables, given every stored document's key -> (id, size)."""
        db, problems = self.db, []
        items = {i.key: i for i in self._items("s.doc", list(docs), ids=True)}
        orphans = {r[0] for r in db.rows("SELECT doc FROM story_docs")} - set(docs)
        if orphans:
            problems.append(f"story rows for missing documents: {sorted(orphans)[:5]}")
        missing = [v[0] for k, v in docs.items() if v[1] >= 0 and k not in items]
        if missing:
            problems.append(f"documents without their story row: {missing[:5]}")
        want = {(h, k) for k, i in items.items() for h in i.hashes.tolist()}
        if set(db.rows("SELECT key, doc FROM apost")) != want:
            problems.append("anchor postings differ from the stored anchors")
        if dict(db.rows("SELECT key, df FROM anchor_df")) != Counter(h for h, _ in want):
            problems.append("anchor frequencies differ from the postings")
        if dict(db.rows("SELECT lang, n FROM lang_n")) != Counter(i.lang for i in items.values()):
            problems.append("language counts differ from the story rows")
        terms = Counter((i.lang, t) for i in items.values() for t in i.terms.tolist())
        if {(l, t): n for l, t, n in db.rows("SELECT lang, term, df FROM term_df")} != terms:
            problems.append("word frequencies differ from the stored words")
        for a, b in db.rows("SELECT a, b FROM story_links"):
            if a not in items or b not in items:
                problems.append("story links referring to missing documents")
                break
            if items[a].story != items[b].story or items[a].id >= items[b].id:
                problems.append(f"story link {items[a].id!r}-{items[b].id!r} crosses stories or is out of order")
                break
        return problems
