"""Stories in the persistent index (dedup/index_stories.py): placed as articles arrive, against `dedup stories`.

What may differ from the batch is documented in dedup/index_stories.py; these tests pin it down: equal
stories on the example corpus in any arrival order, the same stories whatever the batch sizes, link scores
equal to the batch's on the articles indexed at arrival (rarity drift, exactly), and the seed articles
joined or not depending on what was indexed before them (arrival order).
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import dedup  # noqa: E402
from dedup import Document  # noqa: E402
from dedup.evaluate import evaluate, read_labels  # noqa: E402
from dedup.index import Index  # noqa: E402
from dedup import index_stories, index_story_scores  # noqa: E402
from dedup.index_story_scores import MAX_DF_WORDS, Scored, Scorer, pair_score  # noqa: E402
from dedup.stories import StoryParams, find_stories, write_stories  # noqa: E402
from test_index_postgres import postgres_url  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"


@pytest.fixture(params=["sqlite", "postgres"])
def target(request, tmp_path) -> str:
    return str(tmp_path / "ix.dedup") if request.param == "sqlite" else postgres_url()


def example_docs() -> list[Document]:
    return dedup.read_all([str(REPO / "examples" / "corpus.jsonl")])[0]


def seed_docs() -> list[Document]:
    files = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if len(files) < 2:
        pytest.skip(f"the seed articles are not available ({SEEDS})")
    return dedup.read_all([str(f) for f in files])[0]


def batch_story_files(docs, out: Path) -> dict[str, bytes]:
    result = find_stories(docs)
    write_stories(result, out)
    return {f: (out / f).read_bytes() for f in ("stories.jsonl", "links.jsonl")}


def links_of(data: bytes) -> dict[tuple[str, str], dict]:
    return {(r["a"], r["b"]): r for r in map(json.loads, data.decode().splitlines())}


def test_examples_placed_as_they_arrive_equal_batch_stories(tmp_path, target):
    """Added in four shuffled parts, the exported stories.jsonl is byte for byte `dedup stories`'; links join
    the same pairs with the same kind and direction (their scores are from when each article arrived)."""
    docs = example_docs()
    want = batch_story_files(docs, tmp_path / "batch")
    order = random.Random(1).sample(docs, len(docs))
    with Index.open(target) as ix:
        for part in range(4):
            ix.add(order[part::4], batch_size=5)
        ix.export(tmp_path / "inc")
        assert ix.check() == []
        labels = ix.stories.result().labels
    assert (tmp_path / "inc" / "stories.jsonl").read_bytes() == want["stories.jsonl"]
    got, batch = links_of((tmp_path / "inc" / "links.jsonl").read_bytes()), links_of(want["links.jsonl"])
    assert got.keys() == batch.keys()
    assert all(got[k]["kind"] == batch[k]["kind"] and got[k].get("direction") == batch[k].get("direction")
               for k in got)
    gold = read_labels(REPO / "examples" / "labels.jsonl", "id", "story")
    assert evaluate(labels, gold)["bcubed_f1"] == 1.0 == evaluate(find_stories(docs).labels, gold)["bcubed_f1"]


def test_same_stories_in_one_batch_in_small_batches_or_one_at_a_time(tmp_path):
    """Arrival order decides; how the arrivals are batched does not (names, members and links all equal)."""
    docs = random.Random(3).sample(example_docs(), 61)
    got = {}
    for how in ("together", "batches of 7", "one at a time"):
        with Index.open(tmp_path / f"{how}.dedup") as ix:
            if how == "one at a time":
                stories = [ix.assign(d).story for d in docs]
            else:
                ix.add(docs, batch_size=1000 if how == "together" else 7)
                stories = [ix.cluster(d.id).story for d in docs]
            ix.export(tmp_path / how)
            got[how] = (stories, (tmp_path / how / "links.jsonl").read_bytes(),
                        (tmp_path / how / "stories.jsonl").read_bytes())
    assert got["together"] == got["batches of 7"] == got["one at a time"]
    assert len(set(got["together"][0])) < len(docs)


def test_link_scores_are_the_batch_scores_on_what_was_indexed_at_arrival(tmp_path):
    """Rarity drift, exactly: a stored link scores what `dedup stories` gives that pair on the articles
    indexed when the later one arrived (with fewer than ~50 articles per language the batch uses no topic
    model, so nothing else differs)."""
    docs = sorted(example_docs(), key=lambda d: d.id)
    with Index.open(tmp_path / "ix.dedup") as ix:
        ix.add(docs)
        links = ix.stories.result().links
    position = {d.id: i for i, d in enumerate(docs)}
    by_arrival = sorted(links, key=lambda l: (max(position[l.a], position[l.b]), l.a, l.b))
    first = [l for l in by_arrival if l.kind == "copy"][:2] + [l for l in by_arrival if l.kind == "rewrite"][:2]
    assert [l.kind for l in first] == ["copy", "copy", "rewrite", "rewrite"]
    for link in first:
        arrived = max(position[link.a], position[link.b])
        batch = {(l.a, l.b): l for l in find_stories(docs[:arrived + 1]).links}[link.a, link.b]
        assert link.score == batch.score
        assert link.evidence["anchor_score"] == batch.evidence["anchor_score"]
        assert link.evidence.get("word_similarity") == batch.evidence.get("word_similarity")


def test_seeds_join_when_the_archive_is_there_first_and_stay_apart_otherwise(tmp_path):
    """Arrival order and rarity drift on the seed articles (Dutch and German reports of one TikTok story):
    `dedup stories` on the examples plus the seeds puts them in one story; so does the index when the
    examples came first. Indexed first, in a corpus of two, every anchor only one of them has weighs
    log(3) against log(1.5) for a shared one: the second does not join, and it never moves later, although
    querying it now (with the archive there) places it with the first."""
    seeds, docs = seed_docs(), example_docs()
    batch = find_stories(docs + seeds).labels
    assert batch[seeds[0].id] == batch[seeds[1].id]
    with Index.open(tmp_path / "late.dedup") as ix:
        ix.add(docs + seeds)
        assert [ix.cluster(s.id).story for s in seeds] == [seeds[0].id, seeds[0].id]
    with Index.open(tmp_path / "early.dedup") as ix:
        ix.add(seeds + docs)
        assert [ix.cluster(s.id).story for s in seeds] == [seeds[0].id, seeds[1].id]
        assert ix.query_stories([seeds[1]])[0].story == seeds[0].id  # itself left out, as in query


def test_query_stories_predicts_assign_and_adds_nothing(target):
    docs = example_docs()
    held = next(d for d in docs if d.id == "de-bahnstreik-talbote")
    with Index.open(target) as ix:
        ix.add([d for d in docs if d is not held])
        before = ix.stats()
        guess, new = ix.query_stories([held, Document("lone", "Ein ganz anderer Text über Gartenbau in Kleinstadt.")])
        assert ix.stats() == before
        assert guess.story == "de-bahnstreik-az" and guess.size == 4 and guess.score >= 0.24
        assert new.story is None
        placed = ix.assign(held)
        assert placed.story == guess.story and len(placed.story_members) == 5
        assert ix.check() == []


def test_postings_are_the_latest_holders_of_each_anchor(target):
    """One statement for all keys gives what one range per key gives: the ``limit`` largest docs, descending;
    a key no document holds is left out."""
    with Index.open(target) as ix:
        ix.add(example_docs())
        holders: dict[int, list[int]] = {}
        for key, doc in ix.db.rows("SELECT key, doc FROM apost"):
            holders.setdefault(key, []).append(doc)
        keys = sorted(holders)[::3] + [12345]  # one key no document holds
        for limit in (1, 2, 3, 200):
            got = ix.db.postings(keys, limit)
            assert {k: v.tolist() for k, v in got.items()} == {
                k: sorted(holders[k], reverse=True)[:limit] for k in keys if k in holders}
            assert all(v.dtype == np.int64 for v in got.values())
        assert any(len(v) > 2 for v in holders.values()) and ix.db.postings([], 5) == {}


def test_query_caches_follow_adds_and_removes_on_the_same_connection(tmp_path):
    """The frequencies and positions a query snapshot keeps per stored article (StoryIndex._anchor_positions,
    Counts) are dropped with it: after a remove or an add, queries equal those of a new connection."""
    docs = example_docs()
    gone = [d.id for d in docs if d.id.startswith("de-bahnstreik")][:2] + [d.id for d in docs[10:20]]
    # a third of a text is no copy (word 2-gram Jaccard < copy_threshold): scored with the frequencies
    queries = [Document(f"part-{d.id}", d.text[:len(d.text) // 3]) for d in docs if d.id in gone or d in docs[:6]]
    path = tmp_path / "ix.dedup"

    def guesses(ix):
        got = [[(g.story, g.score, g.size) for g in ix.query_stories(queries)] for _ in range(3)]
        assert got[0] == got[1] == got[2]  # the first reads per article, the others from the snapshot
        return got[0]

    def fresh():
        with Index.open(path) as other:
            return guesses(other)

    with Index.open(path) as ix:
        ix.add(docs)
        full = guesses(ix)
        ix.remove(gone)
        removed = guesses(ix)
        assert removed == fresh() and removed != full
        ix.add([d for d in docs if d.id in gone])
        assert guesses(ix) == fresh() != removed


def _frequencies(ix: Index) -> tuple:
    return tuple(sorted(ix.db.rows(f"SELECT * FROM {t}")) for t in ("anchor_df", "term_df", "lang_n"))


def test_remove_and_add_again_keep_story_tables_consistent(tmp_path):
    docs = example_docs()
    gone = [d.id for d in random.Random(4).sample(docs, 12)]
    with Index.open(tmp_path / "ix.dedup") as ix:
        ix.add(docs)
        full = _frequencies(ix)
        ix.remove(gone)
        assert ix.check() == []  # no postings, links or frequencies of the removed ones left
        ix.add([d for d in docs if d.id in gone])
        assert ix.check() == [] and _frequencies(ix) == full


def test_stories_off_keeps_no_story_data(tmp_path):
    path = tmp_path / "ix.dedup"
    with Index.open(path, stories=False) as ix:
        ix.add(example_docs())
        assert ix.params["stories"] is None and "stories" not in ix.stats()
        assert all(ix.db.rows(f"SELECT count(*) FROM {t}")[0][0] == 0 for t in ("story_docs", "apost", "anchor_df"))
        assert ix.assign(Document("new", "A short new article.")).story is None
        with pytest.raises(dedup.ParameterError, match="without stories"):
            ix.query_stories([Document("q", "text")])
        ix.export(tmp_path / "out")
    assert not (tmp_path / "out" / "stories.jsonl").exists()
    with pytest.raises(dedup.ParameterError, match="made without stories"):
        Index.open(path, stories=True)


def test_story_parameters_are_recorded_and_others_refused(tmp_path):
    path = tmp_path / "ix.dedup"
    Index.open(path, stories=StoryParams(threshold=0.3)).close()
    with Index.open(path) as ix:
        assert ix.story_params.threshold == 0.3 and ix.params["stories"]["threshold"] == 0.3
    with pytest.raises(dedup.ParameterError, match="other story parameters"):
        Index.open(path, stories=StoryParams())
    with pytest.raises(dedup.ParameterError, match="stories"):
        Index.open(tmp_path / "other.dedup", stories="yes")


def test_cli_prints_and_exports_stories(tmp_path):
    from typer.testing import CliRunner

    from dedup.cli import app

    corpus = REPO / "examples" / "corpus.jsonl"
    run = CliRunner().invoke
    index = str(tmp_path / "news.db")
    out = run(app, ["index", "assign", index, "-"], input=corpus.read_bytes())
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == len(example_docs()) and all(r["id"] in r["story_members"] for r in lines)
    assert {r["story"] for r in lines if r["id"].startswith("de-bahnstreik")} == {"de-bahnstreik-az"}
    q = [json.loads(line) for line in run(app, ["index", "query", index, str(corpus)]).stdout.splitlines()]
    assert all("story" in r and "story_score" in r for r in q)
    assert run(app, ["index", "export", index, "--out", str(tmp_path / "inc")]).exit_code == 0
    assert run(app, ["stories", str(corpus), "--out", str(tmp_path / "batch")]).exit_code == 0
    assert (tmp_path / "inc" / "stories.jsonl").read_bytes() == (tmp_path / "batch" / "stories.jsonl").read_bytes()
    plain = str(tmp_path / "plain.db")
    assert run(app, ["index", "add", plain, str(corpus), "--no-stories"]).exit_code == 0
    assert "story" not in json.loads(run(app, ["index", "query", plain, str(corpus)]).stdout.splitlines()[0])


# -- the vectorised scorer against the per-pair one it replaced ------------------------------------------------

def reference_score(c, p, copies, a, b) -> Scored:
    """The pair score as index_stories computed it pair by pair before scoring was vectorised (kept as the
    oracle of the vectorised parts: shared anchors, their containment and the word cosine, in plain numpy on
    one pair; the score made of them is the module's own ``pair_score``)."""
    def idf(i):
        df = np.maximum(c.anchor_df([i]), 1).astype(float)
        got = np.where(df >= 2, np.log((c.n + 1) / df), 0.0)
        linkable = df >= 2
        weight = (float(got[linkable & ~i.phrase_key].sum())
                  + math.log(c.n + 1) * int((~linkable & ~i.phrase_kind).sum()))
        return got, weight

    def vector(i):
        n = c.lang_n.get(i.lang, 0)
        df = np.maximum(c.term_df([i]), 1).astype(float)
        keep = df <= MAX_DF_WORDS * n
        w = (1 + np.log(i.counts[keep].astype(float))) * (np.log((1 + n) / (1 + df[keep])) + 1)
        return i.terms[keep], w, float(np.sqrt(w @ w))

    copy = (min(a.key, b.key), max(a.key, b.key)) in copies
    shared_h, ia, _ = np.intersect1d(a.hashes, b.hashes, assume_unique=True, return_indices=True)
    shared = len(shared_h)
    if not copy and (a.lang != b.lang or p.word_weight == 0) and shared < p.min_shared:
        return Scored(0.0, 0.0, None, False)
    anchor = 0.0
    if shared:
        (ida, wa_), (_, wb_) = idf(a), idf(b)
        low = min(wa_, wb_)
        anchor = min(1.0, float(ida[ia].sum()) / low) if low > 0 else 0.0
    w = None
    if p.word_weight > 0 and a.lang == b.lang:
        (ta, va, na), (tb, vb, nb) = vector(a), vector(b)
        if na == 0 or nb == 0:
            w = 0.0
        else:
            _, i1, i2 = np.intersect1d(ta, tb, assume_unique=True, return_indices=True)
            w = float(va[i1] @ vb[i2]) / (na * nb)
    return pair_score(p, a, b, copy, shared, anchor, w)


class ReferenceScorer(Scorer):
    """Scorer's interface, every pair scored by :func:`reference_score`."""

    def __call__(self, others):
        for o in others:
            self.scored.setdefault(o.key, reference_score(self.c, self.p, self.copies, self.item, o))
        return [self.scored[o.key] for o in others]


def _close(x: Scored, y: Scored) -> bool:
    def same(u, v):
        return (u is None) == (v is None) and (u is None or abs(u - v) <= 1e-12)
    return x.score == y.score and x.copy == y.copy and same(x.anchor, y.anchor) and same(x.word, y.word)


def _placed(tmp_path, name: str, docs, queries) -> tuple:
    with Index.open(tmp_path / f"{name}.dedup") as ix:
        for part in range(3):
            ix.add(docs[part::3], batch_size=7)
        ix.export(tmp_path / name)
        guesses = [[(g.story, g.score, g.size) for g in ix.query_stories(queries)] for _ in range(2)]
        assert guesses[0] == guesses[1]  # the second from what the first read (SQLite's snapshot)
        rows = sorted(ix.db.rows("SELECT a, b, score, kind, anchor, word FROM story_links"))
        files = [(tmp_path / name / f).read_bytes() for f in ("stories.jsonl", "links.jsonl")]
    return files, rows, guesses


def test_vectorised_scores_equal_the_pair_by_pair_scores(tmp_path, monkeypatch):
    """On the examples and the seeds, added in a shuffled order and queried: every pair the index scores
    equals the per-pair reference (to 1e-12), and the stories, links and guesses equal those placed with it."""
    seeds, docs = seed_docs(), example_docs()
    order = random.Random(5).sample(docs + seeds, len(docs) + len(seeds))
    queries = seeds + docs[:8] + [Document("lone", "Ein ganz anderer Text über Gartenbau in Kleinstadt.")]
    compared = []

    class Checked(Scorer):
        def __call__(self, others):
            got = super().__call__(others)
            for o, s in zip(others, got):
                want = reference_score(self.c, self.p, self.copies, self.item, o)
                assert _close(s, want), (self.item.id, o.id, s, want)
                compared.append(s)
            return got

    monkeypatch.setattr(index_stories, "Scorer", Checked)
    got = _placed(tmp_path, "vectorised", order, queries)
    positive = sum(s.score > 0 for s in compared)
    assert len(compared) > 200 and positive > 40, (len(compared), positive)
    monkeypatch.setattr(index_stories, "Scorer", ReferenceScorer)
    assert got == _placed(tmp_path, "reference", order, queries)


def test_numbered_tables_growing_at_every_key_place_the_same_stories(tmp_path, monkeypatch):
    """Anchors and words numbered in tables that start with room for one key (so they grow, and their arrays
    are replaced, all along) give the stories, links and guesses of the default size."""
    docs = example_docs()
    order = random.Random(3).sample(docs, len(docs))
    queries = docs[:6] + [Document("lone", "Ein ganz anderer Text über Gartenbau in Kleinstadt.")]
    want = _placed(tmp_path, "default", order, queries)
    monkeypatch.setattr(index_story_scores, "START", 1)
    assert _placed(tmp_path, "tiny", order, queries) == want


@pytest.mark.parametrize("slack", [None, -10**9])
def test_word_weights_kept_across_queries_equal_those_of_a_new_connection(tmp_path, monkeypatch, slack):
    """Queries on one connection keep the words' idf they computed (Numbered.scratch) while the document counts
    stay: each query's own words count it, so they are weighed again. Every query, in any order and after
    adds, equals the same query on a new connection (nothing kept); also when the list of what was weighed is
    compacted at every query (``slack``)."""
    if slack is not None:
        monkeypatch.setattr(index_story_scores, "WEIGHED_SLACK", slack)
    docs = example_docs()
    queries = [Document(f"part-{d.id}", d.text[:len(d.text) // 3], lang=d.lang) for d in docs[::4]]
    path = tmp_path / "ix.dedup"

    def alone(q):
        with Index.open(path) as fresh:
            return fresh.query_stories([q])[0]

    with Index.open(path) as ix:
        ix.add(docs[1::2])
        want = [alone(q) for q in queries]
        assert [ix.query_stories([q])[0] for q in queries] == want
        assert [ix.query_stories([q])[0] for q in reversed(queries)] == want[::-1]
        assert ix.query_stories(queries) == want
        assert sum(g.score > 0 for g in want) >= 3  # scored with word weights, not all alone
        ix.add(docs[0::2][:10])  # the counts change: the weights kept are forgotten
        want = [alone(q) for q in queries]
        assert [ix.query_stories([q])[0] for q in queries[::-1]] == want[::-1]


def test_query_snapshot_follows_writes(tmp_path):
    """Queries keep the story tables they read (SQLite) until they change: by this connection or another."""
    docs = example_docs()
    held = next(d for d in docs if d.id == "de-bahnstreik-talbote")
    rest = [d for d in docs if d is not held]
    with Index.open(tmp_path / "ix.dedup") as ix, Index.open(tmp_path / "ix.dedup") as other:
        ix.add([d for d in rest if not d.id.startswith("de-bahnstreik")])
        before = [ix.query_stories([held])[0] for _ in range(2)]  # the second from what the first read
        other.add([d for d in rest if d.id.startswith("de-bahnstreik")])  # another connection commits
        after = [ix.query_stories([held])[0] for _ in range(2)]
    with Index.open(tmp_path / "fresh.dedup") as fresh:
        fresh.add(rest)
        assert after == [fresh.query_stories([held])[0]] * 2 and after[0].story == "de-bahnstreik-az"
    assert before[0] == before[1] and before[0].story is None


def test_the_snapshot_follows_own_writes_and_forgets_a_rolled_back_one(tmp_path, monkeypatch):
    """A writer keeps what it read across its own adds (StoryIndex._snapshot, _Snapshot.wrote); an add
    that does not commit must leave nothing in it: the index then equals one that never tried."""
    docs = example_docs()
    first, second = docs[:30], docs[30:]
    with Index.open(tmp_path / "tried.dedup") as ix:
        ix.add(first, batch_size=10)  # what each batch read is kept and followed
        insert = ix.db.insert

        def failing(table, columns, rows):
            if table == "story_links":  # after the frequencies were bumped (and followed)
                raise OSError("disk full")
            return insert(table, columns, rows)

        monkeypatch.setattr(ix.db, "insert", failing)
        with pytest.raises(OSError):
            ix.add(second)
        monkeypatch.undo()
        ix.add(second, batch_size=5)
        ix.export(tmp_path / "tried")
    with Index.open(tmp_path / "clean.dedup") as ix:
        ix.add(first, batch_size=10)
        ix.add(second, batch_size=5)
        ix.export(tmp_path / "clean")
    for name in ("links.jsonl", "stories.jsonl", "pairs.jsonl"):
        assert (tmp_path / "tried" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()


def test_kept_postings_follow_own_writes(tmp_path):
    """The postings a writer keeps (StoryIndex._postings) take each article it adds first, trimmed to
    max_bucket, so that they stay what the table gives; and placement with them equals a fresh connection's."""
    docs = example_docs()
    path = tmp_path / "ix.dedup"
    with Index.open(path, stories=StoryParams(max_bucket=3)) as ix:
        for d in docs[:len(docs) // 2]:
            ix.assign(d)  # one transaction each: the snapshot is kept across them
        ix.add(docs[len(docs) // 2:], batch_size=6)  # several a write: each anchor's new holders at once
        kept = ix.stories._cache.postings
        assert sum(len(v) == 3 for v in kept.values()) > 10  # trimmed lists were followed, not only read
        fresh = ix.db.postings(sorted(kept), 3)
        assert {h: v.tolist() for h, v in kept.items()} == {h: fresh[h].tolist() if h in fresh else [] for h in kept}
        queries = [Document(f"part-{d.id}", d.text[:len(d.text) // 3]) for d in docs[::4]]
        mine = ix.query_stories(queries)
    with Index.open(path) as other:
        assert other.query_stories(queries) == mine


def test_a_query_that_fails_midway_leaves_no_count_behind(tmp_path, monkeypatch):
    """A query counts itself in the snapshot's anchor frequencies while it is placed (Counts, in place), and
    takes the count back after; if placing fails in between, the snapshot must go."""
    docs = example_docs()
    queries = [Document(f"part-{d.id}", d.text[:len(d.text) // 3]) for d in docs[:8]]
    with Index.open(tmp_path / "ix.dedup") as ix:
        ix.add(docs)
        before = ix.query_stories(queries)
        made = []

        class Failing(Scorer):
            def __init__(self, *args, **kwargs) -> None:
                made.append(1)
                if len(made) == 3:  # the third query article, after it counted itself
                    raise OSError("interrupted")
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(index_stories, "Scorer", Failing)
        with pytest.raises(OSError):
            ix.query_stories(queries)
        monkeypatch.undo()
        assert ix.query_stories(queries) == before


@pytest.mark.parametrize("limit, small", [("SNAPSHOT_ARTICLES", 3), ("SNAPSHOT_ANCHORS", 200),
                                          ("SNAPSHOT_WORDS", 2000)])
def test_a_snapshot_past_its_size_starts_again_with_the_same_stories(tmp_path, monkeypatch, limit, small):
    """Past any of its limits (articles kept, anchors or words numbered) a snapshot is made anew; the stories
    are those placed with one snapshot throughout."""
    docs = example_docs()[:40]
    made, files = [], []

    class Counted(index_stories._Snapshot):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(index_stories, "_Snapshot", Counted)
    for cap in (getattr(index_stories, limit), small):
        monkeypatch.setattr(index_stories, limit, cap)
        made.clear()
        with Index.open(tmp_path / f"{cap}.dedup") as ix:
            for d in docs:
                ix.assign(d)
            ix.export(tmp_path / str(cap))
        files.append([(tmp_path / str(cap) / n).read_bytes() for n in ("links.jsonl", "stories.jsonl")])
        assert (len(made) == 1) == (cap != small), len(made)
    assert files[0] == files[1]


def test_workers_extract_story_data_without_changing_the_index(tmp_path, run_dedup):
    """`index add --workers 2` (anchors and words in forked processes) exports the same files as one process,
    batch by batch in arrival order."""
    corpus = REPO / "examples" / "corpus.jsonl"
    files = {}
    for workers in (1, 2):
        index, out = tmp_path / f"w{workers}.dedup", tmp_path / f"out{workers}"
        added = run_dedup("index", "add", index, corpus, "--batch", "9", "--workers", workers)
        assert added.returncode == 0, added.stderr.decode()
        assert run_dedup("index", "export", index, "--out", out).returncode == 0
        files[workers] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert files[1] == files[2]
    assert {"stories.jsonl", "links.jsonl", "pairs.jsonl"} <= files[1].keys()
    assert files[1]["links.jsonl"]


def test_workers_must_be_positive(tmp_path):
    with Index.open(tmp_path / "ix.dedup") as ix, pytest.raises(dedup.ParameterError, match="workers=0"):
        ix.add(example_docs(), workers=0)
