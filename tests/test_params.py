"""Parameters: every invalid value is refused with a ParameterError that names the
parameter, the bad value and what was expected; valid edge values are accepted."""

from __future__ import annotations

import dataclasses

import pytest

from dedup.errors import DedupError, ParameterError
from dedup.params import (ClusterParams, Config, LSHParams, MatchParams, MinHashParams, NormalizeParams, ReadParams,
                          RepeatParams, ShingleParams)

# (constructor, kwargs, parameter name as reported, words that must describe the expectation);
# the message must read "<name>=<repr of the bad value> is invalid: expected ..."
INVALID = [
    (ReadParams, {"max_chars": 0}, "max_chars", "positive integer"),
    (ReadParams, {"max_chars": -5}, "max_chars", "positive integer"),
    (ReadParams, {"max_chars": 1.5}, "max_chars", "positive integer"),
    (ReadParams, {"id_field": ""}, "id_field", "non-empty"),
    (ReadParams, {"id_field": None}, "id_field", "non-empty"),
    (ReadParams, {"text_field": ""}, "text_field", "non-empty"),
    (ReadParams, {"text_field": 3}, "text_field", "non-empty"),
    (ShingleParams, {"unit": "token"}, "unit", "'word' or 'char'"),
    (ShingleParams, {"unit": "WORD"}, "unit", "'word' or 'char'"),
    (ShingleParams, {"k": 0}, "k", "integer from 1 to 64"),
    (ShingleParams, {"k": 65}, "k", "integer from 1 to 64"),
    (ShingleParams, {"k": -1}, "k", "integer from 1 to 64"),
    (ShingleParams, {"k": 2.0}, "k", "integer from 1 to 64"),
    (ShingleParams, {"k": "2"}, "k", "integer from 1 to 64"),
    (MinHashParams, {"num_perm": 0}, "num_perm", "integer from 1 to 4096"),
    (MinHashParams, {"num_perm": 4097}, "num_perm", "integer from 1 to 4096"),
    (MinHashParams, {"num_perm": 128.0}, "num_perm", "integer from 1 to 4096"),
    (MinHashParams, {"seed": -1}, "seed", "0 to 2**32 - 1"),
    (MinHashParams, {"seed": 2**32}, "seed", "0 to 2**32 - 1"),
    (MinHashParams, {"seed": 1.0}, "seed", "0 to 2**32 - 1"),
    (MinHashParams, {"scheme": "legacy"}, "scheme", "'affine32'"),
    (MinHashParams, {"scheme": "affine64"}, "scheme", "'affine32'"),
    (LSHParams, {"min_recall": 0}, "min_recall", "(0, 1)"),
    (LSHParams, {"min_recall": 1}, "min_recall", "(0, 1)"),
    (LSHParams, {"min_recall": 1.5}, "min_recall", "(0, 1)"),
    (LSHParams, {"min_recall": float("nan")}, "min_recall", "(0, 1)"),
    (LSHParams, {"min_recall": "0.9"}, "min_recall", "(0, 1)"),
    (LSHParams, {"max_bucket": 1}, "max_bucket", "integer >= 2"),
    (LSHParams, {"max_bucket": 10.0}, "max_bucket", "integer >= 2"),
    (LSHParams, {"bands": 4, "rows": 0}, "bands/rows", "both set or both 0"),
    (LSHParams, {"bands": 0, "rows": 4}, "bands/rows", "both set or both 0"),
    (MatchParams, {"threshold": 0}, "threshold", "(0, 1]"),
    (MatchParams, {"threshold": -0.1}, "threshold", "(0, 1]"),
    (MatchParams, {"threshold": 1.01}, "threshold", "(0, 1]"),
    (MatchParams, {"threshold": float("nan")}, "threshold", "(0, 1]"),
    (MatchParams, {"threshold": "0.5"}, "threshold", "(0, 1]"),
    (MatchParams, {"containment": 0.0}, "containment", "(0, 1]"),
    (MatchParams, {"containment": 2}, "containment", "(0, 1]"),
    (RepeatParams, {"min_words": 1}, "min_words", "integer >= 2"),
    (RepeatParams, {"max_gap": -1}, "max_gap", "integer >= 0"),
    (RepeatParams, {"min_similarity": 0}, "min_similarity", "(0, 1]"),
    (RepeatParams, {"body_share": 1.5}, "body_share", "(0, 1]"),
    (ClusterParams, {"method": "single"}, "method", "'connected' or 'star'"),
    (Config, {"level": "sentence"}, "level", "'article' or 'paragraph'"),
]


def _id(case):
    cls, kwargs, *_ = case
    return f"{cls.__name__}-{kwargs!r}"


@pytest.mark.parametrize("case", INVALID, ids=[_id(c) for c in INVALID])
def test_invalid_value_raises_parameter_error_naming_it(case):
    cls, kwargs, name, expected = case
    with pytest.raises(ParameterError) as info:
        cls(**kwargs)
    message = str(info.value)
    values = list(kwargs.values())
    bad = repr(values[0]) if len(values) == 1 else repr(tuple(values))
    assert message.startswith(f"{name}={bad} is invalid: expected ")
    assert expected in message
    # one error class for everything: usable as ValueError and as DedupError
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DedupError)


def test_parameter_error_class_hierarchy():
    assert issubclass(ParameterError, ValueError)
    assert issubclass(ParameterError, DedupError)
    with pytest.raises(ValueError):
        ShingleParams(k=0)
    with pytest.raises(DedupError):
        ShingleParams(k=0)


def test_config_refuses_more_band_rows_than_permutations():
    with pytest.raises(ParameterError) as info:
        Config(minhash=MinHashParams(num_perm=64), lsh=LSHParams(bands=9, rows=8))
    message = str(info.value)
    assert "bands*rows=72" in message and "num_perm=64" in message and "expected" in message


def test_config_accepts_band_rows_equal_to_permutations():
    config = Config(minhash=MinHashParams(num_perm=64), lsh=LSHParams(bands=8, rows=8))
    assert config.lsh.bands * config.lsh.rows == config.minhash.num_perm


@pytest.mark.parametrize("make", [
    lambda: ShingleParams(k=1), lambda: ShingleParams(k=64), lambda: ShingleParams(unit="char"),
    lambda: MinHashParams(num_perm=1), lambda: MinHashParams(num_perm=4096),
    lambda: MinHashParams(seed=0), lambda: MinHashParams(seed=2**32 - 1),
    lambda: LSHParams(min_recall=0.5), lambda: LSHParams(max_bucket=2), lambda: LSHParams(bands=4, rows=8),
    lambda: MatchParams(threshold=1), lambda: MatchParams(threshold=1e-9), lambda: MatchParams(containment=1.0),
    lambda: ClusterParams("star"), lambda: Config(level="paragraph"), lambda: ReadParams(max_chars=1),
    lambda: NormalizeParams(strip_accents=True),
])
def test_edge_values_are_accepted(make):
    make()


def test_defaults_are_valid_and_frozen():
    config = Config()
    assert config.level == "article"
    assert config.match.threshold == 0.5 and config.match.containment is None
    assert config.shingle == ShingleParams() and config.minhash == MinHashParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.level = "paragraph"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.match.threshold = 0.9  # type: ignore[misc]


@pytest.mark.parametrize("kwargs, name, bad", [
    ({"bands": -1, "rows": 3}, "bands", "-1"),
    ({"bands": 3, "rows": -2}, "rows", "-2"),
    ({"bands": 2.5, "rows": 2}, "bands", "2.5"),   # bug in an earlier version: accepted
    ({"bands": "2", "rows": "3"}, "bands", "'2'"),  # bug in an earlier version: TypeError
    ({"bands": 4, "rows": True}, "rows", "True"),
])
def test_bands_and_rows_must_be_non_negative_integers(kwargs, name, bad):
    with pytest.raises(ParameterError) as info:
        LSHParams(**kwargs)
    message = str(info.value)
    assert f"{name}={bad}" in message or ("bands/rows=" in message and bad in message)
    assert "expected" in message and "integer" in message


# A bool is an int to Python, and LSHParams refuses it for bands/rows; the other integer
# parameters still take True for 1.
@pytest.mark.parametrize("make", [
    lambda: ShingleParams(k=True),
    lambda: MinHashParams(num_perm=True),
    lambda: MinHashParams(seed=False),
    lambda: ReadParams(max_chars=True),
], ids=["k", "num_perm", "seed", "max_chars"])
def test_bools_are_not_integers(make):
    with pytest.raises(ParameterError):
        make()
