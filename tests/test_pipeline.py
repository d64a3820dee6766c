"""The whole pipeline on small handmade corpora."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from dedup import Cluster, Config, Document, InputError, find
from dedup.normalize import normalize
from dedup.params import ClusterParams, LSHParams, MatchParams, ShingleParams
from dedup.pipeline import representative_rank, timestamp
from dedup.shingle import shingle_strings

ORIGINAL = """The city council voted on Tuesday to expand the tram network to the northern districts.
The plan, which will cost an estimated 240 million euros, was approved by a large majority.
Construction is expected to begin next spring and to take about four years.
Opponents said the money would be better spent on buses and cycling lanes in the centre."""

EDITED = """The City Council voted on Tuesday to expand the tram network to the northern districts.
The plan — which will cost an estimated 240 million euros — was approved by a large majority.
Construction is expected to start next spring and to take about four years.
Opponents said the money would be better spent on buses and cycle lanes in the centre."""

UNRELATED = """Heavy rain caused flooding in several villages along the river over the weekend.
Firefighters pumped water out of dozens of cellars and one road was closed for hours.
The weather service expects more showers later this week but no further storms."""

OTHER = """Die Mannschaft gewann das Spiel am Samstag mit drei zu eins nach einer starken zweiten Hälfte.
Der Trainer lobte vor allem die Abwehr und den jungen Torwart aus der eigenen Jugend."""


def corpus() -> list[Document]:
    return [
        Document("a1", ORIGINAL, published="2024-03-05T10:00:00Z", source="Daily"),
        Document("a2", ORIGINAL, published="2024-03-05T09:30:00+00:00", source="Agency"),
        Document("a3", EDITED, source="Weekly"),
        Document("b1", UNRELATED, published="2024-03-04"),
        Document("c1", OTHER),
        Document("e1", ""),
        Document("e2", "   \n\n  "),
        Document("e3", "!!! ... ---"),
    ]


def shingle_set(text: str, config: Config = Config()) -> set[str]:
    return set(shingle_strings(normalize(text, config.normalize), config.shingle))


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def id_pairs(result) -> dict[tuple[str, str], float]:
    docs = result.documents
    return {(docs[i].id, docs[j].id): round(float(s), 12)
            for i, j, s in zip(result.pairs.left.tolist(), result.pairs.right.tolist(), result.pairs.jaccard)}


def test_copies_cluster_and_unrelated_do_not():
    result = find(corpus())
    assert [d.id for d in result.documents] == ["a1", "a2", "a3", "b1", "c1", "e1", "e2", "e3"]
    assert len(result.clusters) == 1
    cluster = result.clusters[0]
    assert cluster.members == ("a1", "a2", "a3")
    assert cluster.representative == "a2"  # published earliest
    assert cluster.cluster == 1
    pairs = id_pairs(result)
    assert set(pairs) == {("a1", "a2"), ("a1", "a3"), ("a2", "a3")}
    # figures are the exact Jaccard of the shingle sets, by definition
    a, e = shingle_set(ORIGINAL), shingle_set(EDITED)
    assert pairs[("a1", "a2")] == 1.0
    assert pairs[("a1", "a3")] == pytest.approx(jaccard(a, e), abs=1e-12)
    assert 0.5 < jaccard(a, e) < 1.0
    assert cluster.min_similarity == round(jaccard(a, e), 6)
    assert [d.id for d in result.kept()] == ["a2", "b1", "c1", "e1", "e2", "e3"]
    assert result.stats["documents"] == 8 and result.stats["empty"] == 3
    assert result.stats["clusters"] == 1 and result.stats["duplicates"] == 2 and result.stats["pairs"] == 3


def test_pairs_equal_brute_force_over_all_pairs():
    docs = corpus()
    result = find(docs, Config(match=MatchParams(threshold=0.3)))
    sets = {d.id: shingle_set(d.text) for d in docs}
    want = {(a, b) for a, b in itertools.combinations(sorted(sets), 2)
            if sets[a] and sets[b] and jaccard(sets[a], sets[b]) >= 0.3}
    assert set(id_pairs(result)) == want


@pytest.mark.parametrize("method", ["connected", "star"])
def test_result_does_not_depend_on_input_order(method):
    config = Config(match=MatchParams(threshold=0.3, containment=0.8), cluster=ClusterParams(method))
    docs = corpus() + chain_docs()
    first = find(docs, config)
    rnd = random.Random(5)
    for _ in range(4):
        shuffled = docs[:]
        rnd.shuffle(shuffled)
        again = find(shuffled, config)
        assert id_pairs(again) == id_pairs(first)
        assert again.clusters == first.clusters
        assert [d.id for d in again.documents] == [d.id for d in first.documents]
    # clusters are numbered from 1 in the order of their first member's id, members in id order
    assert [c.cluster for c in first.clusters] == list(range(1, len(first.clusters) + 1))
    assert [c.members[0] for c in first.clusters] == sorted(c.members[0] for c in first.clusters)
    assert all(list(c.members) == sorted(c.members) for c in first.clusters)
    assert ("a1", "a2", "a3") in [c.members for c in first.clusters]


def test_duplicate_ids_raise_input_error():
    with pytest.raises(InputError, match="duplicate id 'x'"):
        find([Document("x", "one"), Document("y", "two"), Document("x", "three")])
    with pytest.raises(InputError):
        find([Document("x", "same"), Document("x", "same")], Config(level="paragraph"))


# -- representatives ------------------------------------------------------------------------------


def test_representative_is_earliest_published_then_smallest_id():
    docs = [Document("d", ORIGINAL, published="2024-01-02"),
            Document("c", ORIGINAL, published="2024-01-01T23:00:00-02:00"),  # = 2024-01-02T01:00Z
            Document("b", ORIGINAL, published="2024-01-02T00:00:00Z"),
            Document("a", ORIGINAL)]
    result = find(docs)
    assert result.clusters == [Cluster(1, "b", ("a", "b", "c", "d"), 1.0)]
    # b and d are published at the same instant (naive = UTC): the smaller id wins
    assert representative_rank(result.documents).tolist() == [3, 0, 2, 1]
    undated = find([Document(i, ORIGINAL) for i in ("q", "p", "r")])
    assert undated.clusters[0].representative == "p"
    garbled = find([Document("m", ORIGINAL, published="yesterday"), Document("n", ORIGINAL, published="2020-01-01")])
    assert garbled.clusters[0].representative == "n"


def test_timestamp():
    assert timestamp(None) == float("inf") and timestamp("") == float("inf") and timestamp("soon") == float("inf")
    assert timestamp("1970-01-01T00:00:00Z") == 0.0
    assert timestamp("1970-01-01") == 0.0
    assert timestamp("1970-01-01T01:00:00+01:00") == 0.0
    assert timestamp(" 1970-01-02 ") == 86400.0


# -- clustering methods -----------------------------------------------------------------------------

WORDS = [f"word{i}" for i in range(100)]


def chain_docs() -> list[Document]:
    """x ~ y and y ~ z at threshold 0.45, but x and z do not match."""
    return [Document("x", " ".join(WORDS[0:60])), Document("y", " ".join(WORDS[20:80])),
            Document("z", " ".join(WORDS[40:100]))]


def test_connected_chains_and_star_does_not():
    sets = {d.id: shingle_set(d.text) for d in chain_docs()}
    assert jaccard(sets["x"], sets["y"]) >= 0.45 and jaccard(sets["y"], sets["z"]) >= 0.45
    assert jaccard(sets["x"], sets["z"]) < 0.45
    match = MatchParams(threshold=0.45)
    connected = find(chain_docs(), Config(match=match))
    assert [c.members for c in connected.clusters] == [("x", "y", "z")]
    assert connected.clusters[0].min_similarity == round(jaccard(sets["x"], sets["y"]), 6)
    star = find(chain_docs(), Config(match=match, cluster=ClusterParams("star")))
    assert [(c.representative, c.members) for c in star.clusters] == [("x", ("x", "y"))]
    # with y ranked first (published earliest), y is the centre of all three
    docs = chain_docs()
    docs[1] = Document("y", docs[1].text, published="2000-01-01")
    star = find(docs, Config(match=match, cluster=ClusterParams("star")))
    assert [(c.representative, c.members) for c in star.clusters] == [("y", ("x", "y", "z"))]


# -- paragraph level -----------------------------------------------------------------------------


def test_paragraph_level_ids_and_matches():
    shared = "Construction is expected to begin next spring and to take about four years."
    docs = [Document("n1", f"First line here.\n\n{shared}\r\nLast words of n1.", published="2024-01-01"),
            Document("n2", f"{shared}\nSomething else entirely different.")]
    result = find(docs, Config(level="paragraph"))
    assert [d.id for d in result.documents] == ["n1#1", "n1#2", "n1#3", "n2#1", "n2#2"]
    p = {d.id: d for d in result.documents}
    assert p["n1#2"].text == shared and p["n2#1"].text == shared
    record = p["n1#2"].record
    assert record["document"] == "n1" and record["paragraph"] == 2
    assert docs[0].text[record["start"]:record["end"]] == shared
    assert p["n1#2"].published == "2024-01-01"
    assert [c.members for c in result.clusters] == [("n1#2", "n2#1")]
    assert result.clusters[0].representative == "n1#2"


# -- containment ---------------------------------------------------------------------------------


def containment_docs() -> list[Document]:
    rng = np.random.default_rng(1)
    vocab = [f"v{i}" for i in range(3000)]

    def paragraph() -> str:
        return " ".join(rng.choice(vocab, 30))

    short = "\n".join(paragraph() for _ in range(2))
    long_ = "\n".join([paragraph() for _ in range(15)] + [short] + [paragraph() for _ in range(15)])
    return [Document("long", long_), Document("short", short), Document("noise", paragraph())]


def test_contained_short_text_is_found_only_with_containment():
    docs = containment_docs()
    sets = {d.id: shingle_set(d.text) for d in docs}
    assert sets["short"] <= sets["long"]
    assert jaccard(sets["short"], sets["long"]) < 0.1
    plain = find(docs)
    assert plain.clusters == [] and len(plain.pairs) == 0
    # the whole-document bands do not propose the pair: only the shared paragraphs can
    assert [0, 2] not in plain.candidates.pairs.tolist()  # (long, short) in id order
    config = Config(match=MatchParams(threshold=0.5, containment=0.9))
    result = find(docs, config)
    assert [c.members for c in result.clusters] == [("long", "short")]
    pairs = result.pairs
    assert len(pairs) == 1
    assert pairs.containment_right_in_left[0] == 1.0  # short (right, by id) in long (left)
    assert pairs.jaccard[0] == pytest.approx(jaccard(sets["short"], sets["long"]))
    assert result.clusters[0].min_similarity == 1.0


def test_empty_documents_never_match():
    docs = [Document("e1", ""), Document("e2", ""), Document("e3", "  \n "), Document("e4", "?!"),
            Document("t", "some text")]
    for config in (Config(), Config(match=MatchParams(threshold=0.1, containment=0.01), lsh=LSHParams(bands=128, rows=1)),
                   Config(shingle=ShingleParams(unit="char", k=3)), Config(level="paragraph")):
        result = find(docs, config)
        assert len(result.pairs) == 0 and result.clusters == []
        assert len(result.candidates.pairs) == 0


def test_no_documents():
    result = find([])
    assert result.documents == [] and result.clusters == [] and len(result.pairs) == 0
    assert result.stats["documents"] == 0
