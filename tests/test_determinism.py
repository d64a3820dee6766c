"""``dedup find`` output is byte-identical whatever the hash seed, input order or thread count.

Every run is a real process (PYTHONHASHSEED only takes effect at start-up).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import pytest

from conftest import CORPUS, read_jsonl, write_jsonl

OUTPUTS = ("pairs.jsonl", "clusters.jsonl", "kept.jsonl")


def _edit(text: str, rate: float, rng: random.Random) -> str:
    """Replace, drop or duplicate about ``rate`` of the words, line by line."""
    out = []
    for line in text.split("\n"):
        words = line.split(" ")
        edited = []
        for w in words:
            x = rng.random()
            if x < rate / 3:
                continue
            if x < 2 * rate / 3:
                edited.append(rng.choice(words))
            elif x < rate:
                edited.extend([w, w])
            else:
                edited.append(w)
        out.append(" ".join(edited))
    return "\n".join(out)


def _big_corpus() -> list[dict]:
    """The fixture corpus plus edited copies: many pairs, clusters of several sizes, tied and missing dates."""
    rng = random.Random(20240513)
    records = [dict(r) for r in CORPUS]
    for base in CORPUS:
        if not base["text"]:
            continue
        for n in range(rng.randint(1, 4)):
            rec = {"id": f"{rng.getrandbits(40):010x}", "text": _edit(base["text"], rng.choice([0.02, 0.08, 0.2]), rng),
                   "source": f"Outlet {rng.randint(1, 9)}"}
            kind = rng.random()
            if kind < 0.4:
                rec["published"] = base["published"]  # a tie with the original: the id decides
            elif kind < 0.7:
                rec["published"] = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T0{rng.randint(0, 9)}:00:00+01:00"
            # else: no date at all
            records.append(rec)
    # an exact copy with the same date as its original, and one with a date that does not parse
    records.append({"id": "zz-exact-copy", "published": CORPUS[0]["published"], "text": CORPUS[0]["text"]})
    records.append({"id": "00-bad-date", "published": "yesterday", "text": CORPUS[3]["text"]})
    assert len({r["id"] for r in records}) == len(records)
    return records


BIG = _big_corpus()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """The corpus in its own order and in several seeded shuffles of its lines."""
    folder = tmp_path_factory.mktemp("determinism")
    files = {"original": write_jsonl(folder / "original.jsonl", BIG)}
    for seed in (1, 2, 3):
        shuffled = list(BIG)
        random.Random(seed).shuffle(shuffled)
        assert shuffled != BIG
        files[f"shuffle{seed}"] = write_jsonl(folder / f"shuffle{seed}.jsonl", shuffled)
    files["reversed"] = write_jsonl(folder / "reversed.jsonl", BIG[::-1])
    return files


def _run_all(run_dedup, runs: dict, options: list[str], tmp_path: Path) -> dict[str, dict[str, bytes]]:
    """Run every (input, env, extra args), a few at a time; the bytes of every file each run wrote."""

    def one(name: str, spec) -> tuple[str, dict[str, bytes]]:
        path, env, extra = spec
        out = tmp_path / name
        r = run_dedup("find", path, "--out", out, "--keep-first", out / "kept.jsonl", *options, *extra, env=env)
        assert r.returncode == 0, f"{name}: {r.stderr.decode()}"
        assert b"Traceback" not in r.stderr
        # every file written (pairs, clusters, kept, and whatever else --out holds) must agree
        return name, {str(f.relative_to(out)): f.read_bytes() for f in sorted(out.rglob("*")) if f.is_file()}

    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 1))) as pool:
        return dict(pool.map(lambda item: one(*item), runs.items()))


def _assert_identical(results: dict[str, dict[str, bytes]]) -> None:
    names = list(results)
    reference = results[names[0]]
    assert set(OUTPUTS) <= set(reference)
    for name in names[1:]:
        assert set(results[name]) == set(reference), name
        for f in reference:
            assert results[name][f] == reference[f], (
                f"{f} differs between {names[0]!r} and {name!r}: "
                f"{hashlib.sha1(reference[f]).hexdigest()[:8]} vs {hashlib.sha1(results[name][f]).hexdigest()[:8]}")


def test_find_is_byte_identical_across_hash_seeds_orders_and_threads(run_dedup, inputs, tmp_path):
    seed = lambda s: {"PYTHONHASHSEED": str(s)}  # noqa: E731
    # identical outputs prove every factor at once, so factors are combined to keep the runs few
    runs = {
        "seed0": (inputs["original"], seed(0), []),
        "seed1": (inputs["original"], seed(1), []),
        "seed12345": (inputs["original"], seed(12345), []),
        "shuffle1-seed0-workers1": (inputs["shuffle1"], seed(0), ["--workers", "1"]),
        "shuffle2-seed1": (inputs["shuffle2"], seed(1), []),
        "shuffle3-seed12345-workers1": (inputs["shuffle3"], seed(12345), ["--workers", "1"]),
        "reversed-random": (inputs["reversed"], {"PYTHONHASHSEED": "random"}, []),
    }
    if numba.config.NUMBA_NUM_THREADS > 2:  # the default is all cores; also try a count in between
        runs["reversed-random"][2].extend(["--workers", "2"])
    results = _run_all(run_dedup, runs, [], tmp_path)

    # the outputs are not trivially equal: there is something to compare
    ref = results["seed0"]
    clusters = [json.loads(c) for c in ref["clusters.jsonl"].decode().splitlines()]
    assert len(clusters) >= 8 and any(len(c["members"]) >= 4 for c in clusters)
    assert ref["pairs.jsonl"].count(b"\n") >= 20
    assert ref["kept.jsonl"].count(b"\n") < len(BIG)
    _assert_identical(results)


@pytest.mark.parametrize("options", [
    ["--cluster", "star", "--containment", "0.8"],
    ["--level", "paragraph"],
], ids=["star-containment", "paragraph"])
def test_other_modes_are_byte_identical_too(run_dedup, inputs, tmp_path, options):
    runs = {
        "seed0": (inputs["original"], {"PYTHONHASHSEED": "0"}, []),
        "reversed-seed12345-workers1": (inputs["reversed"], {"PYTHONHASHSEED": "12345"}, ["--workers", "1"]),
    }
    results = _run_all(run_dedup, runs, options, tmp_path)
    assert results["seed0"]["clusters.jsonl"].count(b"\n") >= 5
    _assert_identical(results)


def test_representatives_follow_dates_then_ids(cli, inputs, tmp_path):
    """What the byte-identical output above contains: earliest date first, ties and no date by smallest id."""
    from dedup.pipeline import timestamp

    out = tmp_path / "out"
    r = cli("find", inputs["shuffle1"], "--out", out)
    assert r.exit_code == 0, r.stderr
    dates = {rec["id"]: timestamp(rec.get("published")) for rec in BIG}
    clusters = read_jsonl(out / "clusters.jsonl")
    assert clusters
    for c in clusters:
        best = min(c["members"], key=lambda i: (dates[i], i))
        assert c["representative"] == best, c
