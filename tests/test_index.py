"""The persistent index (dedup/index.py): incremental == batch, errors, clusters, crashes, concurrent readers.

Tests taking the ``target`` fixture run on both backends: an SQLite file and a schema on a throwaway
PostgreSQL server (tests/test_index_postgres.py starts it; skipped with the reason where it cannot run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

# numba's OpenMP workers spin after each parallel kernel by default; on a busy machine (more runnable threads
# than cores) every small kernel call then waits up to ~100 ms for a core. Passive waiting makes the many small
# batches of these tests (and of incremental use in general) fast. Must be set before the first kernel runs;
# subprocesses below get it explicitly.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import dedup  # noqa: E402
from dedup import Config, Document, IncompatibleSignatures, LSHParams, MatchParams  # noqa: E402
from dedup.errors import DedupError  # noqa: E402
from dedup.index import Index, IndexFileError  # noqa: E402
from dedup.index_sqlite import FORMAT_VERSION  # noqa: E402
from test_index_postgres import postgres_url  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from generate import generate  # noqa: E402

CONTAINMENT = Config(match=MatchParams(0.5, 0.8))
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def target(request, tmp_path) -> str:
    """Where a new index goes: a file, or the URL of an empty PostgreSQL schema (param: the backend, or
    (backend, anything) for tests that also vary something else per backend)."""
    backend = request.param if isinstance(request.param, str) else request.param[0]
    return str(tmp_path / "ix.dedup") if backend == "sqlite" else postgres_url()



def example_docs() -> list[Document]:
    docs, _ = dedup.read_all([str(REPO / "examples" / "corpus.jsonl")])
    return docs


def _variant(rng: random.Random, text: str, rate: float) -> str:
    words = text.split(" ")
    return " ".join(w for w in words if rng.random() > rate)


def near_duplicates(n: int = 300, seed: int = 3) -> list[Document]:
    """Generated articles (10% syndicated copies) plus 1-3 extra edited variants of every fifth one: chains."""
    rng = random.Random(seed)
    out = []
    for r in generate(n, seed=seed, words=120):
        out.append(Document(r["id"], r["text"], source=r["source"], published=r["published"]))
        if int(r["id"][3:]) % 5 == 0:
            for v in range(rng.randint(1, 3)):
                out.append(Document(f"{r['id']}-v{v}", _variant(rng, r["text"], rng.uniform(0.05, 0.3)),
                                    published=None if v == 0 else r["published"]))
    return out


@pytest.fixture(scope="module")
def generated() -> list[Document]:
    return near_duplicates()


@pytest.fixture(scope="module")
def larger(generated) -> list[Document]:
    """Enough documents that an add in small batches without stories takes a few seconds (for kills)."""
    extra = [Document(r["id"].replace("doc", "big"), r["text"], source=r["source"], published=r["published"])
             for r in generate(1000, seed=4, words=120)]
    return generated + extra


def batch_files(docs, config, out: Path) -> dict[str, bytes]:
    dedup.write_report(dedup.find(docs, config), out)
    return {f: (out / f).read_bytes() for f in ("pairs.jsonl", "clusters.jsonl", "cleaned.jsonl")}


def index_files(ix: Index, out: Path, cap: bool = True) -> dict[str, bytes]:
    ix.export(out, cap=cap)
    return {f: (out / f).read_bytes() for f in ("pairs.jsonl", "clusters.jsonl", "cleaned.jsonl")}


def add_in_parts(ix: Index, docs, parts: int = 10, seed: int = 0, batch_size: int = 7):
    docs = list(docs)
    random.Random(seed).shuffle(docs)
    for p in range(parts):
        ix.add(docs[p::parts], batch_size=batch_size)


# -- incremental == batch ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [Config(), CONTAINMENT, Config(cluster=dedup.ClusterParams("star"))],
                         ids=["default", "containment", "star"])
def test_examples_in_ten_parts_equal_find(tmp_path, target, config):
    docs = example_docs()
    want = batch_files(docs, config, tmp_path / "batch")
    assert want["pairs.jsonl"] and want["clusters.jsonl"]
    with Index.open(target, config) as ix:
        add_in_parts(ix, docs)
        assert index_files(ix, tmp_path / "inc") == want
        assert ix.check() == []


@pytest.mark.parametrize("config", [Config(), CONTAINMENT], ids=["default", "containment"])
def test_generated_near_duplicates_in_ten_parts_equal_find(tmp_path, target, generated, config):
    want = batch_files(generated, config, tmp_path / "batch")
    assert want["pairs.jsonl"].count(b"\n") > 100
    with Index.open(target, config) as ix:
        add_in_parts(ix, generated, batch_size=40)
        got = index_files(ix, tmp_path / "inc")
        assert got == want
        assert ix.check() == []
        # without the cap emulation nothing changes either: no bucket exceeds max_bucket here
        assert index_files(ix, tmp_path / "uncapped", cap=False) == want
        stats = ix.stats()
    result = dedup.find(generated, config)
    assert (stats["documents"], stats["pairs"], stats["clusters"]) == (
        len(generated), len(result.pairs), len(result.clusters))


def _boilerplate_corpus() -> list[Document]:
    """12 near-identical notices (one LSH bucket per band holds them all) plus unrelated articles."""
    base = ("The market closed higher on Friday as investors weighed new data on prices and jobs. "
            "Shares of banks and energy companies led the gains while technology stocks were mixed. ")
    rng = random.Random(5)
    docs = [Document(f"notice{i:02d}", base + " ".join(rng.choice(["today", "again", "as expected", "late"])
                                                         for _ in range(i % 3)))
            for i in range(12)]
    docs += [Document(r["id"], r["text"]) for r in generate(20, seed=9, words=80)]
    return docs


@pytest.mark.parametrize("config", [Config(lsh=LSHParams(max_bucket=4)),
                                    Config(lsh=LSHParams(max_bucket=4), match=MatchParams(0.5, 0.8))],
                         ids=["default", "containment"])
def test_oversized_buckets_stored_superset_export_equal(tmp_path, target, config):
    """find caps buckets above max_bucket; the index stores every verified pair but exports find's bytes."""
    docs = _boilerplate_corpus()
    result = dedup.find(docs, config)
    assert result.candidates.oversized, "the corpus must overflow max_bucket"
    want = batch_files(docs, config, tmp_path / "batch")
    with Index.open(target, config) as ix:
        add_in_parts(ix, docs, parts=4, batch_size=3)
        assert index_files(ix, tmp_path / "inc") == want
        stored = ix.stats()["pairs"]
        uncapped = index_files(ix, tmp_path / "uncapped", cap=False)
    assert stored > len(result.pairs)  # the documented difference
    assert uncapped["pairs.jsonl"].count(b"\n") == stored
    # without the cap, find agrees with the stored pairs
    big = Config(lsh=LSHParams(max_bucket=1000), match=config.match)
    assert len(dedup.find(docs, big).pairs) == stored


# -- add: idempotence, conflicts, reports --------------------------------------------------------------------------

def test_add_is_idempotent_and_reports_conflicts(target):
    docs = example_docs()
    with Index.open(target) as ix:
        first = ix.add(docs)
        assert len(first.added) == len(docs) and first.exact
        assert first.cleaned and first.empty == ()
        assert first.pairs == ix.stats()["pairs"] > 0
        again = ix.add(docs)
        assert again.added == () and sorted(again.present) == sorted(d.id for d in docs)
        changed = Document(docs[0].id, docs[0].text + " An extra sentence.")
        dup = ix.add([changed, Document("fresh", "some new text here"), Document("fresh", "other text")])
        assert dup.conflicts == (docs[0].id, "fresh") and dup.added == ("fresh",)
        stored = ix.db.rows("SELECT digest FROM docs WHERE id = ?", (docs[0].id,))[0][0]
        assert bytes(stored) == dedup.index.digest(docs[0].text)
        empty = ix.add([Document("blank", "")])
        assert empty.empty == ("blank",)
        assert ix.query([Document("q", "")]) == [[]]
        assert ix.check() == []


def test_query_matches_find_figures_and_adds_nothing(target, generated):
    indexed, queries = generated[::2], generated[1::2]
    with Index.open(target, stories=False) as ix:
        ix.add(indexed)
        before = ix.stats()
        results = ix.query(queries)
        assert ix.stats()["documents"] == before["documents"]
    by_pair = {}
    for p in dedup.report.pair_records(dedup.find(generated)):
        by_pair[(p["a"], p["b"])] = p
    q_ids = {d.id for d in queries}
    expected = {}
    for (a, b), p in by_pair.items():
        if (a in q_ids) != (b in q_ids):
            expected.setdefault(a if a in q_ids else b, set()).add(b if a in q_ids else a)
    got = {}
    for d, matches in zip(queries, results):
        for m in matches:
            got.setdefault(d.id, set()).add(m.id)
            a, b = sorted((d.id, m.id))
            p = by_pair[(a, b)]
            assert round(m.jaccard, 6) == p["jaccard"] and round(m.estimated_jaccard, 6) == p["estimated_jaccard"]
            c_q = p["containment_a_in_b"] if a == d.id else p["containment_b_in_a"]
            assert round(m.containment_query_in_match, 6) == c_q and m.exact
        assert [m.jaccard for m in matches] == sorted((m.jaccard for m in matches), reverse=True)
    assert got == expected and len(got) > 10


def test_query_excludes_own_id(target):
    docs = example_docs()
    with Index.open(target) as ix:
        ix.add(docs)
        d = next(d for d in docs if d.text)
        assert all(m.id != d.id for m in ix.query([d])[0])
        assert any(m.id == d.id and m.jaccard == 1.0 for m in ix.query([Document("other", d.text)])[0])


# -- clusters ------------------------------------------------------------------------------------------------------

def test_assign_merges_and_remove_splits(target):
    text = "\n".join(f"Paragraph {i} of the story about the harbour strike and the talks that failed again."
                     for i in range(6))
    a = Document("a", text, published="2024-03-02T10:00:00Z")
    b = Document("b", text + "\nA late update from the harbour.", published="2024-03-01T09:00:00Z")
    c = Document("c", text + "\nA late update from the harbour.\nAnd one more line at the end of it all.")
    other = Document("z", "Completely different: the football team won on Saturday after a strong second half.")
    with Index.open(target) as ix:
        first = ix.assign(a)
        assert (first.status, first.representative, first.members) == ("added", "a", ("a",))
        assert ix.assign(other).members == ("z",)
        second = ix.assign(b)
        assert (second.representative, second.members) == ("b", ("a", "b"))  # b was published first
        third = ix.assign(c)
        assert (third.representative, third.members) == ("b", ("a", "b", "c"))
        assert ix.assign(a).status == "present"
        assert ix.assign(Document("a", "changed")).status == "conflict"
        assert ix.stats()["clusters"] == 1 and ix.check() == []
        gone = ix.remove(["b", "nope"])
        assert gone.removed == ("b",) and gone.missing == ("nope",)
        assert ix.check() == []
        left = ix.cluster("a")
        assert left.representative == "a" and set(left.members) <= {"a", "c"}
        assert ix.cluster("b") is None


def test_remove_then_export_equals_find_on_the_rest(tmp_path, target, generated):
    rng = random.Random(2)
    gone = {d.id for d in rng.sample(generated, 60)}
    rest = [d for d in generated if d.id not in gone]
    want = batch_files(rest, Config(), tmp_path / "batch")
    with Index.open(target) as ix:
        ix.add(generated, batch_size=50)
        assert ix.remove(sorted(gone)).missing == ()
        assert ix.check() == []
        assert index_files(ix, tmp_path / "inc") == want


# -- the recent band tier (SQLite) -------------------------------------------------------------------------------

@pytest.fixture
def tiered(tmp_path) -> str:
    """A new index on the backend that writes band rows to the recent tier (SQLite; PostgreSQL writes them to the
    main tables, see test_postgres_writes_band_rows_to_the_main_tables)."""
    return str(tmp_path / "ix.dedup")


def test_postgres_writes_band_rows_to_the_main_tables(target):
    """Only SQLite uses the recent tier (which holds everything, below RECENT_MIN documents); on PostgreSQL its
    tables stay empty."""
    docs = example_docs()
    with Index.open(target) as ix:
        add_in_parts(ix, docs, parts=3)
        rows = _tier_rows(ix)
        live = ix.db.rows("SELECT count(*) FROM docs WHERE size > 0")[0][0]
        assert rows["bands"] + rows["bands_recent"] == live * ix.bands
        assert rows["bands" if target.startswith("postgresql") else "bands_recent"] > 0
        assert rows["bands_recent" if target.startswith("postgresql") else "bands"] == 0
        assert ix.check() == []



def _tier_rows(ix: Index) -> dict[str, int]:
    return {t: ix.db.rows(f"SELECT count(*) FROM {t}")[0][0] for t in ("bands", "bands_recent", "pbands",
                                                                         "pbands_recent")}


def test_recent_tier_merges_and_reads_both(tmp_path, tiered, generated, monkeypatch):
    """Band rows go to the recent tier and move to the main tables when it grows; lookups, exports, removes and
    the check see both (small thresholds here, so that merges happen at a few hundred documents)."""
    monkeypatch.setattr(dedup.index, "RECENT_MIN", 30)
    monkeypatch.setattr(dedup.index, "RECENT_RATIO", 2)
    want = batch_files(generated, CONTAINMENT, tmp_path / "batch")
    with Index.open(tiered, CONTAINMENT) as ix:
        ix.add(generated[:20], batch_size=20)
        assert _tier_rows(ix)["bands"] == 0 and _tier_rows(ix)["bands_recent"] == 20 * ix.bands  # no merge yet
        add_in_parts(ix, generated[20:], parts=3, batch_size=40)
        rows = _tier_rows(ix)
        assert all(rows.values()), rows  # both tiers hold rows (pbands too: containment)
        assert rows["bands"] + rows["bands_recent"] == len(generated) * ix.bands
        assert index_files(ix, tmp_path / "inc") == want
        assert ix.check() == []
        # a query finds the copies of documents in either tier
        recent = {d for (d,) in ix.db.rows("SELECT DISTINCT doc FROM bands_recent")}
        ids = dict(ix.db.rows("SELECT doc, id FROM docs"))
        by_id = {d.id: d for d in generated}
        for doc in (min(recent), min(set(ids) - recent)):
            found = ix.query([Document("q", by_id[ids[doc]].text)])[0]
            assert ids[doc] in {m.id for m in found}
        # removing documents of both tiers leaves no row of theirs
        gone = sorted({ids[d] for d in sorted(recent)[:5]} | {ids[d] for d in sorted(set(ids) - recent)[:5]})
        ix.remove(gone)
        assert ix.check() == []
        rest = [d for d in generated if d.id not in gone]
        assert index_files(ix, tmp_path / "removed") == batch_files(rest, CONTAINMENT, tmp_path / "batch-rest")


def test_recent_tier_merges_a_few_bands_a_batch(tmp_path, tiered, generated, monkeypatch):
    """A merge moves bands in proportion to the batch: one-document adds move one band each (not the whole
    table at once), and the results are those of find at every step of the round."""
    monkeypatch.setattr(dedup.index, "RECENT_MIN", 40)
    monkeypatch.setattr(dedup.index, "RECENT_RATIO", 1000)
    docs = generated[:40 + 60]
    with Index.open(tiered) as ix:
        step = -(-ix.bands // 40)
        ix.add(docs[:40], batch_size=40)
        assert ix.db.rows("SELECT count(*) FROM bands")[0][0] == 0  # 40 documents: not more than RECENT_MIN
        merged = []
        for k, d in enumerate(docs[40:], start=41):
            ix.add([d])
            state = dict(ix.db.rows("SELECT name, value FROM meta WHERE name = 'merge_next'"))
            main = [b for (b,) in ix.db.rows("SELECT DISTINCT band FROM bands ORDER BY band")]
            merged.append(main[-1] + 1 if main else 0)
            if merged[-1] < ix.bands and len(merged) <= ix.bands:  # the first round: only its bands moved
                assert main == list(range(json.loads(state["merge_next"])))
                if k > 41:  # band 0 gets the rows of documents added after it moved
                    assert ix.db.rows("SELECT min(band) FROM bands_recent")[0][0] == 0
            if k in (45, 41 + ix.bands // step // 2):
                assert index_files(ix, tmp_path / f"at{k}") == batch_files(docs[:k], Config(), tmp_path / f"b{k}")
        assert merged[:3] == [step, 2 * step, 3 * step]  # one document a batch: step bands each
        assert ix.bands in merged and ix.check() == []
        assert index_files(ix, tmp_path / "end") == batch_files(docs, Config(), tmp_path / "batch")


def test_bucket_split_across_tiers_is_capped_as_find_caps_it(tmp_path, tiered, monkeypatch):
    """A bucket over max_bucket whose rows are half in the main table and half in the recent tier (neither
    part over the cap) is capped in the export as find caps it."""
    config = Config(lsh=LSHParams(max_bucket=4))
    docs = _boilerplate_corpus()
    notices, rest = docs[:12], docs[12:]
    first, second = rest + notices[:4], notices[4:8]
    with Index.open(tiered, config) as ix:
        monkeypatch.setattr(dedup.index, "RECENT_MIN", 3)
        ix.add(first, batch_size=len(first))  # moved to the main table in this batch
        monkeypatch.setattr(dedup.index, "RECENT_MIN", 1000)
        ix.add(second)  # stays in the recent tier
        assert ix.db.rows("SELECT max(n) FROM (SELECT count(*) AS n FROM bands GROUP BY band, key) AS g")[0][0] == 4
        assert ix.db.rows("SELECT count(*) FROM bands_recent")[0][0] == 4 * ix.bands
        got = index_files(ix, tmp_path / "inc")
    assert got == batch_files(first + second, config, tmp_path / "batch")


def test_a_failed_merge_leaves_the_batch_uncommitted(tmp_path, tiered, generated, monkeypatch):
    """A merge is part of its add batch's transaction: a failure in the middle of it (after rows were copied
    to the main table, before the round's state is written) rolls the whole batch back, and the add then
    succeeds when run again."""
    monkeypatch.setattr(dedup.index, "RECENT_MIN", 30)
    docs = generated[:80]
    with Index.open(tiered) as ix:
        ix.add(docs[:30], batch_size=30)
        real = Index._set_meta

        def fail(self, name, value):
            if name == "merge_next":
                raise KeyboardInterrupt  # as a signal would, between two statements of the merge
            real(self, name, value)
        monkeypatch.setattr(Index, "_set_meta", fail)
        with pytest.raises(KeyboardInterrupt):
            ix.add(docs[30:], batch_size=50)
        assert ix.stats()["documents"] == 30 and ix.check() == []
        assert ix.db.rows("SELECT count(*) FROM bands")[0][0] == 0
        monkeypatch.setattr(Index, "_set_meta", real)
        assert len(ix.add(docs[30:], batch_size=50).added) == 50
        assert ix.check() == [] and ix.db.rows("SELECT count(*) FROM bands")[0][0] > 0
        assert index_files(ix, tmp_path / "inc") == batch_files(docs, Config(), tmp_path / "batch")


def test_older_format_gets_the_recent_tier_on_open(tmp_path, target):
    """An index of format 2 (no recent tier: every band row in the main tables) is given the tier's empty
    tables when opened, and reads and grows as a new one."""
    docs = example_docs()
    with Index.open(target) as ix:
        ix.add(docs[:20])
        for main, recent in dedup.index_store.TIERS.items():
            ix.db.rows(f"INSERT INTO {main} SELECT * FROM {recent}")
            ix.db.rows(f"DROP TABLE {recent}")
        ix.db.rows("UPDATE meta SET value = '2' WHERE name = 'format_version'")
    with Index.open(target) as ix:
        assert json.loads(ix.db.rows("SELECT value FROM meta WHERE name = 'format_version'")[0][0]) == FORMAT_VERSION
        assert _tier_rows(ix)["bands_recent"] == 0 and ix.check() == []
        ix.add(docs[20:])
        assert (_tier_rows(ix)["bands_recent"] > 0) == ix.db.recent_tier and ix.check() == []
        assert index_files(ix, tmp_path / "inc") == batch_files(docs, Config(), tmp_path / "batch")


# -- store_sets=False ----------------------------------------------------------------------------------------------

def test_signatures_only_index_says_estimated(target):
    docs = example_docs()
    with Index.open(target, store_sets=False) as ix:
        report = ix.add(docs)
        assert not report.exact and ix.stats()["store_sets"] is False
        assert ix.db.rows("SELECT count(*) FROM sets")[0][0] == 0
        d = next(d for d in docs if d.id == "en-port-strike-meridian")
        matches = ix.query([Document("q", d.text)])[0]
        assert matches and all(not m.exact and m.jaccard == m.estimated_jaccard for m in matches)
        assert ix.check() == []
    with pytest.raises(dedup.ParameterError, match="store_sets"):
        Index.open(target, store_sets=True)
    with Index.open(target) as ix:  # stored setting used
        assert not ix.store_sets


# -- opening: parameters, foreign and corrupt files ---------------------------------------------------------------

def test_meta_records_parameters_and_refuses_others(target):
    path = target
    with Index.open(path, Config(match=MatchParams(0.6))) as ix:
        ix.add(example_docs()[:5])
        meta = {k: json.loads(v) for k, v in ix.db.rows("SELECT name, value FROM meta")}
    assert meta["format_version"] == FORMAT_VERSION and meta["application"] == "dedup-index"
    p = meta["params"]
    for field in ("hash_version", "scheme", "seed", "num_perm", "unit", "k", "strip_accents", "clean_repeats",
                  "threshold", "bands", "rows", "containment", "stories"):
        assert field in p
    assert p["threshold"] == 0.6
    with Index.open(path) as ix:  # no config: the stored one
        assert ix.config.match.threshold == 0.6 and ix.stats()["documents"] == 5
    other = Config(match=MatchParams(0.5), minhash=dedup.MinHashParams(num_perm=64),
                   shingle=dedup.ShingleParams(k=3))
    with pytest.raises(IncompatibleSignatures) as e:
        Index.open(path, other)
    for field in ("num_perm", "k", "threshold", "bands"):
        assert field in str(e.value)
    assert "seed" not in str(e.value)
    # export-only settings may differ
    with Index.open(path, Config(match=MatchParams(0.6), lsh=LSHParams(max_bucket=50))) as ix:
        assert ix.config.lsh.max_bucket == 50


def test_foreign_and_corrupt_files(tmp_path):
    with pytest.raises(IndexFileError, match="no such index"):
        Index.open(tmp_path / "missing.dedup", create=False)
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database\n" * 10)
    with pytest.raises(IndexFileError, match="not an SQLite database"):
        Index.open(text)
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(IndexFileError, match="not a dedup index"):
        Index.open(foreign)
    other_meta = tmp_path / "other.db"
    con = sqlite3.connect(other_meta)
    con.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
    con.execute("INSERT INTO meta VALUES ('application', '\"something-else\"')")
    con.commit()
    con.close()
    with pytest.raises(IndexFileError, match="not a dedup index"):
        Index.open(other_meta)
    good = tmp_path / "ix.dedup"
    Index.open(good).close()
    con = sqlite3.connect(good)
    con.execute("UPDATE meta SET value = '99' WHERE name = 'format_version'")
    con.commit()
    con.close()
    with pytest.raises(IndexFileError, match="newer dedup"):
        Index.open(good)
    # a file truncated in the middle of its pages
    broken = tmp_path / "broken.dedup"
    with Index.open(broken) as ix:
        ix.add(example_docs())
        ix.db.checkpoint()
    raw = broken.read_bytes()
    broken.write_bytes(raw[:100] + b"\xff" * 4000 + raw[4100:])
    with pytest.raises(DedupError):
        with Index.open(broken) as ix:
            assert ix.check() == []
            ix.stats()
    assert issubclass(IndexFileError, DedupError)


# -- crashes and concurrent readers --------------------------------------------------------------------------------

WORKER = r"""
import json, sys
from dedup import Document
from dedup.index import Index
path, corpus, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
docs = [Document(r["id"], r["text"], published=r.get("published"), source=r.get("source"))
        for r in map(json.loads, open(corpus, encoding="utf-8"))]
with Index.open(path) as ix:
    warm = [Document("warm-up", "Load the compiled kernels and the word lists of Amsterdam on 12 March.")]
    ix.query(warm)
    if ix.stories:
        ix.query_stories(warm)
    print("ready", flush=True)
    if len(sys.argv) > 4:
        sys.stdin.readline()  # "go": started ahead of time, waits its turn
    report = ix.add(docs, batch_size=batch,
                    on_commit=lambda r: print("committed " + json.dumps(r.added), flush=True))
print("done " + json.dumps({"added": len(report.added), "present": len(report.present)}), flush=True)
"""


def _write_corpus(path: Path, docs) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"id": d.id, "text": d.text, "published": d.published, "source": d.source},
                               ensure_ascii=False) + "\n")


def _start(index: Path, corpus: Path, batch: int, wait: bool = False) -> subprocess.Popen:
    """A process adding ``corpus``; with ``wait`` it loads, prints "ready" and waits for a line on stdin."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(index), str(corpus), str(batch)] + ["wait"] * wait,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


# (backend, runs, stories, corpus): a process with stories loads word lists for ~2 s before it adds, so the
# file backend is killed often without them (the index core; adding the larger corpus then takes seconds) and
# the server backend fewer times with them (the story tables too; both backends share the transaction code)
@pytest.mark.parametrize("target", [("sqlite", 15, False, "larger"), ("postgres", 5, True, "generated")],
                         ids=BACKENDS, indirect=True)
def test_sigkill_during_add_keeps_committed_batches(tmp_path, target, request):
    """Kill a real adding process at random moments: the index stays consistent, holds every batch reported
    committed, and finishing the add skips them (idempotent) and gives find's result."""
    _, runs, stories, corpus_name = request.node.callspec.params["target"]
    generated = request.getfixturevalue(corpus_name)
    corpus = tmp_path / "corpus.jsonl"
    _write_corpus(corpus, generated)
    index = target
    rng = random.Random(11)
    committed: set[str] = set()
    kills, progress = 0, []
    Index.open(index, stories=stories).close()
    spare = _start(index, corpus, batch=8, wait=True)  # the next worker loads while this one runs
    for i in range(runs):
        proc = spare
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        spare = _start(index, corpus, batch=8, wait=True) if i < runs - 1 else None
        # kill after a random number of commits that added documents (the batches already stored are skipped
        # first), a random moment later: always mid-add, whatever the speed of the machine
        seen, wanted = [], rng.randint(0, 2)
        while wanted:
            line = proc.stdout.readline()
            seen.append(line)
            if not line.startswith("committed "):
                break
            wanted -= line.strip() != "committed []"
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        out = "".join(seen) + out
        kills += proc.returncode == -signal.SIGKILL and "done " not in out
        for line in out.splitlines():
            if line.startswith("committed "):
                committed.update(json.loads(line[len("committed "):]))
        with Index.open(index, create=False) as ix:
            assert ix.check() == []  # includes SQLite's integrity_check
            stored = {r[0] for r in ix.db.rows("SELECT id FROM docs")}
        assert committed <= stored
        progress.append(len(stored))
    assert kills >= runs * 2 // 3, "most runs must have been killed mid-add"
    assert len(set(progress)) >= runs // 3, progress  # kills landed at different points of the add
    # finishing the add skips what was committed, adding again adds nothing, and the result is find's
    with Index.open(index) as ix:
        done = ix.add(generated, batch_size=50)
        assert len(done.added) + len(done.present) == len(generated) and len(done.present) >= len(committed)
        assert ix.add(generated, batch_size=50).added == ()
        assert ix.check() == []
        assert index_files(ix, tmp_path / "inc") == batch_files(generated, Config(), tmp_path / "batch")


def test_readers_query_while_a_writer_adds(tmp_path, target, generated):
    corpus = tmp_path / "corpus.jsonl"
    _write_corpus(corpus, generated)
    index = target
    probe = next(d for d in generated if d.id.endswith("-v0"))
    proc = _start(index, corpus, batch=10, wait=True)
    assert proc.stdout.readline().strip() == "ready"
    seen_counts, matched = [], False
    with Index.open(index, create=False) as reader:
        reader.query([Document("probe", probe.text)])  # warm (kernels loaded) before the writer starts:
        proc.stdin.write("go\n")  # a cold first query could outlast the whole add
        proc.stdin.flush()
        while proc.poll() is None or not seen_counts:
            matches = reader.query([Document("probe", probe.text)])[0]
            matched |= any(m.id == probe.id for m in matches)
            seen_counts.append(reader.stats()["documents"])
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        final = reader.query([Document("probe", probe.text)])[0]
    assert seen_counts == sorted(seen_counts) and len(set(seen_counts)) > 2  # saw batches arrive
    assert any(m.id == probe.id and m.jaccard == 1.0 for m in final)
