import difflib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "edits.py"
_spec = importlib.util.spec_from_file_location("bench_edits", _PATH)
edits = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(edits)

_rs = np.random.default_rng(12345)
_WORDS = [f"w{i}" for i in range(300)]
PARAS = [" ".join(_rs.choice(_WORDS, size=40)) for _ in range(25)]
TEXT = "\n\n".join(PARAS)  # 1000 words, 25 paragraphs


def changed_fraction(a: str, b: str) -> float:
    wa, wb = a.split(), b.split()
    ops = difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal") / len(wa)


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("rate", [0.02, 0.05, 0.10, 0.15])
def test_edit_words_rate(rate):
    out = edits.edit_words(TEXT, rate, rng(1))
    assert changed_fraction(TEXT, out) == pytest.approx(rate, abs=0.35 * rate + 0.005)


def test_edit_words_deterministic():
    assert edits.edit_words(TEXT, 0.1, rng(3)) == edits.edit_words(TEXT, 0.1, rng(3))
    assert edits.edit_words(TEXT, 0.1, rng(3)) != edits.edit_words(TEXT, 0.1, rng(4))


@pytest.mark.parametrize("sep", ["\n\n", "\n"])
def test_edit_words_keeps_paragraph_breaks(sep):
    text = sep.join(PARAS)
    out = edits.edit_words(text, 0.15, rng(2))
    assert out.count("\n") == text.count("\n")
    assert len(out.split(sep)) == len(PARAS)
    assert all(p.strip() for p in out.split(sep))


def test_edit_words_uses_known_vocabulary():
    out = edits.edit_words(TEXT, 0.15, rng(5))
    assert set(out.split()) <= set(TEXT.split()) | set(edits.COMMON_WORDS)


def test_truncate_prefix_and_breaks():
    out = edits.truncate(TEXT, 0.75, rng(0))
    assert TEXT.startswith(out)
    assert len(out.split()) == 750
    assert out.count("\n\n") == 750 // 40
    assert edits.truncate(TEXT, 1.0, rng(0)) == TEXT
    assert edits.truncate(TEXT, 0.0, rng(0)) == ""


def test_add_boilerplate_keeps_text_and_varies():
    outs = {edits.add_boilerplate(TEXT, rng(s)) for s in range(30)}
    assert len(outs) > 10
    for out in outs:
        assert out != TEXT
        assert PARAS[1] in out and PARAS[-2] in out
    assert any("All rights reserved" in o or "newsletter" in o or "Follow us" in o for o in outs)


def test_make_variants_ids_kinds_deterministic():
    v = edits.make_variants("doc1", TEXT, seed=7)
    kinds = [k for _, k, _ in v]
    assert kinds == ["edit02", "edit05", "edit10", "edit15", "boiler", "boiler_edit05",
                     "trunc90", "trunc75", "trunc90_edit05"]
    assert [i for i, _, _ in v] == [f"doc1~{k}" for k in kinds]
    assert v == edits.make_variants("doc1", TEXT, seed=7)
    assert v != edits.make_variants("doc1", TEXT, seed=8)
    assert all(t != TEXT for _, _, t in v)
    d = dict((k, t) for _, k, t in v)
    assert len(d["trunc75"].split()) == 750 and TEXT.startswith(d["trunc90"])
    assert changed_fraction(TEXT, d["edit10"]) == pytest.approx(0.10, abs=0.04)


ARTICLES = [
    dict(doc_id=i, event=f"ev{i % 2}", title=f"Title {i}", text="\n\n".join(PARAS[i:i + 3]),
         date_publish="2017-09-15T00:00:00", source_domain=f"site{i}.com")
    for i in range(4)
]


def test_edited_corpus_full():
    corpus = edits.edited_corpus(ARTICLES, seed=0)
    assert len(corpus) == 4 * (1 + len(edits.RECIPE))
    origs = [r for r in corpus if r["variant_of"] is None]
    assert [r["id"] for r in origs] == ["0", "1", "2", "3"]
    assert origs[1]["text"] == "Title 1\n\n" + ARTICLES[1]["text"]
    for r in corpus:
        assert {"id", "text", "source", "published", "event", "variant_of"} <= set(r)
        if r["variant_of"] is not None:
            src = ARTICLES[int(r["variant_of"])]
            assert r["id"].startswith(r["variant_of"] + "~")
            assert r["event"] == src["event"] and r["source"] == src["source_domain"]
    assert corpus == edits.edited_corpus(ARTICLES, seed=0)
    assert corpus != edits.edited_corpus(ARTICLES, seed=1)


def test_edited_corpus_per_article():
    corpus = edits.edited_corpus(ARTICLES, seed=0, per_article=3)
    assert len(corpus) == 4 * 4
    assert corpus == edits.edited_corpus(ARTICLES, seed=0, per_article=3)
    full = {r["id"]: r for r in edits.edited_corpus(ARTICLES, seed=0)}
    assert all(full[r["id"]] == r for r in corpus)


def test_load_news_cluster_absent(tmp_path):
    assert edits.load_news_cluster(tmp_path / "missing.jsonl") is None
    p = tmp_path / "nc.jsonl"
    p.write_text('{"doc_id": "a", "text": "x"}\n\n{"doc_id": "b", "text": "y"}\n')
    assert [a["doc_id"] for a in edits.load_news_cluster(p)] == ["a", "b"]


def test_main_without_data(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(edits, "DEFAULT_NEWS_CLUSTER", tmp_path / "missing.jsonl")
    assert edits.main(["edits.py", str(tmp_path / "out.jsonl")]) == 0
    assert "not found" in capsys.readouterr().err


texts = st.lists(st.lists(st.text(alphabet="abc XY.,'", min_size=1), min_size=1, max_size=5)
                 .map(" ".join), max_size=6).flatmap(lambda ps: st.sampled_from(["\n\n", "\n"]).map(
                     lambda s: s.join(ps)))


@settings(max_examples=200, deadline=None)
@given(texts, st.floats(0, 1), st.integers(0, 2**32))
def test_truncate_is_word_prefix(text, keep, seed):
    out = edits.truncate(text, keep, rng(seed))
    assert text.startswith(out)
    assert out.split() == text.split()[: len(out.split())]


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(0, 2**32))
def test_edit_words_rate_zero_is_identity(text, seed):
    assert edits.edit_words(text, 0.0, rng(seed)) == text


@settings(max_examples=200, deadline=None)
@given(texts, st.floats(0, 0.5), st.integers(0, 2**32))
def test_edit_words_never_changes_newlines(text, rate, seed):
    assert edits.edit_words(text, rate, rng(seed)).count("\n") == text.count("\n")
