"""Clustering metrics against hand-computed examples, brute force and sklearn."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from sklearn.metrics import adjusted_rand_score

from dedup.errors import InputError
from dedup.evaluate import evaluate, read_labels

GOLD = {"a": 1, "b": 1, "c": 2, "d": 2}
PRED = {"a": "x", "b": "x", "c": "x", "d": "y"}


def test_hand_computed_example():
    m = evaluate(PRED, GOLD)
    # predicted pairs ab, ac, bc; gold pairs ab, cd; together in both: ab
    assert (m["true_pairs"], m["predicted_pairs"], m["gold_pairs"]) == (1, 3, 2)
    assert m["pairwise_precision"] == pytest.approx(1 / 3)
    assert m["pairwise_recall"] == pytest.approx(1 / 2)
    assert m["pairwise_f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    # B-cubed: a, b: 2/3 and 1; c: 1/3 and 1/2; d: 1 and 1/2
    assert m["bcubed_precision"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert m["bcubed_recall"] == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
    assert m["ari"] == pytest.approx(adjusted_rand_score([1, 1, 2, 2], [0, 0, 0, 1]))


def test_perfect_and_all_singletons():
    m = evaluate(dict(GOLD), GOLD)
    assert m["pairwise_f1"] == m["bcubed_f1"] == m["ari"] == 1.0
    m = evaluate({}, GOLD)  # nothing predicted: every gold id is a singleton
    assert m["missing_in_prediction"] == 4
    assert m["pairwise_precision"] == 1.0 and m["pairwise_recall"] == 0.0
    assert m["bcubed_precision"] == 1.0 and m["bcubed_recall"] == pytest.approx(0.5)


def test_missing_ids_are_singletons_and_extra_ids_ignored():
    with_extra = {"a": "x", "b": "x", "zzz": "x", "c": "y"}  # d missing, zzz not in gold
    m = evaluate(with_extra, GOLD)
    same = evaluate({"a": "x", "b": "x", "c": "y", "d": "own-d"}, GOLD)
    assert m == {**same, "missing_in_prediction": 1}


def test_labels_compare_by_value_and_type():
    # 1 and "1" are different labels; a label shared across types is not merged
    m = evaluate({"a": 1, "b": "1"}, {"a": 0, "b": 0})
    assert m["pairwise_recall"] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_against_brute_force_and_sklearn(seed):
    rng = random.Random(seed)
    ids = [f"d{i}" for i in range(40)]
    gold = {i: rng.randrange(8) for i in ids}
    pred = {i: rng.randrange(6) for i in ids}
    m = evaluate(pred, gold)
    tp = fp = fn = 0
    for x, y in itertools.combinations(ids, 2):
        same_p, same_g = pred[x] == pred[y], gold[x] == gold[y]
        tp += same_p and same_g
        fp += same_p and not same_g
        fn += same_g and not same_p
    assert m["pairwise_precision"] == pytest.approx(tp / (tp + fp))
    assert m["pairwise_recall"] == pytest.approx(tp / (tp + fn))
    b3p = sum(sum(1 for y in ids if pred[y] == pred[x] and gold[y] == gold[x]) /
              sum(1 for y in ids if pred[y] == pred[x]) for x in ids) / len(ids)
    b3r = sum(sum(1 for y in ids if pred[y] == pred[x] and gold[y] == gold[x]) /
              sum(1 for y in ids if gold[y] == gold[x]) for x in ids) / len(ids)
    assert m["bcubed_precision"] == pytest.approx(b3p)
    assert m["bcubed_recall"] == pytest.approx(b3r)
    assert m["ari"] == pytest.approx(adjusted_rand_score([gold[i] for i in ids], [pred[i] for i in ids]))


def test_read_labels_plain_and_story_members(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in [
        {"doc_id": "a", "event": "e1"}, {"doc_id": "b", "event": "e1"}, {"doc_id": 7, "event": "e2"}]) + "\n\n")
    assert read_labels(gold, "doc_id", "event") == {"a": "e1", "b": "e1", "7": "e2"}
    stories = tmp_path / "stories.jsonl"
    stories.write_text(json.dumps({"story": 1, "members": ["a", "b"]}) + "\n"
                       + json.dumps({"story": 2, "members": ["7"]}) + "\n")
    pred = read_labels(stories, label_field="story")
    assert pred == {"a": 1, "b": 1, "7": 2}
    assert evaluate(pred, read_labels(gold, "doc_id", "event"))["bcubed_f1"] == 1.0


def test_read_labels_errors_name_the_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps({"id": "a", "label": 1}) + "\n" + json.dumps({"id": "a", "label": 2}) + "\n")
    with pytest.raises(InputError, match=r"x.jsonl:2: id 'a' already labelled at line 1"):
        read_labels(p)
    p.write_text(json.dumps({"id": "a"}) + "\n")
    with pytest.raises(InputError, match=r"x.jsonl:1: missing field 'label'"):
        read_labels(p)
    p.write_text("{not json\n")
    with pytest.raises(InputError, match=r"x.jsonl:1: invalid JSON"):
        read_labels(p)
    with pytest.raises(InputError, match="cannot read"):
        read_labels(tmp_path / "absent.jsonl")
