"""Speed of dedup against datasketch and rensa, as ratios measured in one run on one input.

Not part of the test suite: the name does not match ``test_*.py`` and the
repository's ``testpaths`` is ``tests``, so ``python -m pytest`` never collects
it. Run it explicitly (``benchmarks/run.py`` does)::

    BENCH_SET=quick python -m pytest benchmarks/bench_speed.py --benchmark-json=out.json

``BENCH_SET`` is ``quick`` (default: 1k docs, 10k where cheap) or ``full``
(adds 10k/100k, and 20k end to end). Every size uses the first n articles of
one generated corpus (benchmarks/generate.py, seed 0, 500 words). Groups:

* ``text->signature``: raw text in, 128 MinHash values out, word 5-grams.
* ``text->signature stages``: dedup's own path split into its stages (1 thread).
* ``signatures only``: precomputed shingle hashes in, signatures out.
* ``lsh``: signatures in, candidate pairs out.
* ``find end to end``: articles in, verified pairs and clusters out.

Each case stores in ``extra_info``: ``docs`` (documents per call), ``role``
(``dedup``/``reference``/``stage``), ``cpu_min_s`` and ``wall_min_s`` (best
round in process CPU time and in wall time) and ``cpu_per_wall`` over all
rounds (< 1 for a single thread: the host took the core away part of the time;
> 1: more than one thread worked). benchmarks/run.py compares single-threaded
cases on CPU time, which another tenant taking the core does not inflate.
"""

from __future__ import annotations

import os
import re
import sys
import time
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fused_reference import fused_whitespace_signatures  # noqa: E402
from generate import generate  # noqa: E402

import dedup  # noqa: E402
from dedup.lsh import candidates, recall_bands  # noqa: E402
from dedup.minhash import signatures  # noqa: E402
from dedup.normalize import normalize  # noqa: E402
from dedup.params import Config, MatchParams, MinHashParams, NormalizeParams, ShingleParams  # noqa: E402
from dedup.shingle import join, shingle  # noqa: E402

try:  # the fused path (case folding inside the shingle kernel), when this dedup has it
    from dedup.shingle import shingle_texts  # noqa: E402
except ImportError:  # pragma: no cover - older dedup
    shingle_texts = None

SET = os.environ.get("BENCH_SET", "quick")
if SET not in ("quick", "full"):
    raise ValueError(f"BENCH_SET={SET!r}: expected 'quick' or 'full'")
FULL = SET == "full"

K = 5  # word 5-grams everywhere
NUM_PERM = 128
SEED = 1  # dedup's default MinHash seed; every library gets the same
THRESHOLD = 0.5
BATCH = 2048  # documents per call into the kernels, as dedup.sketch does
SHINGLE = ShingleParams(unit="word", k=K)
MINHASH = MinHashParams(num_perm=NUM_PERM, seed=SEED)
NORMALIZE = NormalizeParams()
BANDS, ROWS = recall_bands(THRESHOLD, NUM_PERM, 0.995)  # what dedup.find uses at this threshold
MAX_BUCKET = 200

TEXT_SIZES = [1000, 10_000, 100_000] if FULL else [1000]
SIG_SIZES = [1000, 10_000] if FULL else [1000]  # datasketch needs ~40 bytes per Python int: 10k at most
LSH_SIZES = [1000, 10_000, 100_000] if FULL else [1000, 10_000]
E2E_SIZES = [1000, 10_000, 20_000] if FULL else [1000, 10_000]
# The slowest references run on a prefix of the same input (docs/s is per document, no state
# is shared between documents, so the prefix measures the same per-document cost).
CAP_DS_UPDATE = 1000 if FULL else 200
CAP_DS_UPDATE_BATCH = 10_000
BUDGET_S = 6.0 if FULL else 1.5  # target seconds of timed rounds per case
MIN_ROUNDS, MAX_ROUNDS = 3, 50
SLOW_S = 20.0 if FULL else 4.0  # a call slower than this gets only SLOW_ROUNDS rounds
SLOW_ROUNDS = 2 if FULL else 1  # (the quick set must finish in under 2 minutes)


@lru_cache(maxsize=1)
def corpus() -> list[dict]:
    n = max(TEXT_SIZES + SIG_SIZES + LSH_SIZES + E2E_SIZES)
    return generate(n, seed=0, words=500)


def texts(n: int) -> list[str]:
    return [d["text"] for d in corpus()[:n]]


@pytest.fixture
def threads():
    """Set numba's thread count for one case; restored afterwards."""
    before = numba.get_num_threads()
    yield numba.set_num_threads
    numba.set_num_threads(before)


def measure(benchmark, fn, docs: int, role: str, **info):
    """Time ``fn`` (one warm-up call, then enough rounds for about BUDGET_S seconds).

    Returns the warm-up call's result, for checks and counts outside the timed rounds.
    """
    t = time.perf_counter()
    result = fn()
    once = time.perf_counter() - t
    if once > SLOW_S:
        rounds = SLOW_ROUNDS
    else:
        rounds = int(min(MAX_ROUNDS, max(MIN_ROUNDS, BUDGET_S / max(once, 1e-9))))
    cpu, wall = [], []

    def timed():
        c, w = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)

    benchmark.pedantic(timed, rounds=rounds, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(docs=docs, role=role, set=SET, numba_threads=numba.get_num_threads(),
                                cpu_min_s=min(cpu), wall_min_s=min(wall),
                                cpu_per_wall=round(sum(cpu) / max(sum(wall), 1e-12), 3), **info)
    return result


# ---------------------------------------------------------------- the jobs being timed

def dedup_normalize_shingle_signatures(batch_texts: list[str]) -> np.ndarray:
    """normalize per text, then dedup.shingle.shingle and dedup.minhash.signatures per batch."""
    out = []
    for s in range(0, len(batch_texts), BATCH):
        norm = [normalize(t, NORMALIZE) for t in batch_texts[s:s + BATCH]]
        sh = shingle(norm, SHINGLE)
        out.append(signatures(sh.hashes, sh.indptr, MINHASH))
    return np.concatenate(out)


def dedup_fused_signatures(batch_texts: list[str]) -> np.ndarray:
    """dedup.shingle.shingle_texts (raw text in, case folding inside the kernel), then signatures."""
    out = []
    for s in range(0, len(batch_texts), BATCH):
        sh = shingle_texts(batch_texts[s:s + BATCH], SHINGLE, NORMALIZE)
        out.append(signatures(sh.hashes, sh.indptr, MINHASH))
    return np.concatenate(out)


# What dedup.sketch.sketch does, minus the exact sets and repeat cleaning.
dedup_text_signatures = dedup_fused_signatures if shingle_texts else dedup_normalize_shingle_signatures
SKETCH_PATH = "shingle_texts" if shingle_texts else "normalize+shingle"


def py_shingles(text: str) -> list[str]:
    """The usual Python shingling for datasketch/rensa: lowercase, split, join 5 words."""
    w = text.lower().split()
    if len(w) < K:
        return [" ".join(w)] if w else []
    return list(map(" ".join, zip(*(w[i:] for i in range(K)))))


def datasketch_update(batch_texts):
    from datasketch import MinHash

    out = []
    for t in batch_texts:
        m = MinHash(num_perm=NUM_PERM, seed=SEED)
        for s in py_shingles(t):
            m.update(s.encode())
        out.append(m)
    return out


def datasketch_update_batch(batch_texts):
    from datasketch import MinHash

    out = []
    for t in batch_texts:
        m = MinHash(num_perm=NUM_PERM, seed=SEED)
        m.update_batch([s.encode() for s in py_shingles(t)])
        out.append(m)
    return out


def datasketch_bulk(batch_texts):
    from datasketch import MinHash

    return MinHash.bulk(([s.encode() for s in py_shingles(t)] for t in batch_texts), num_perm=NUM_PERM, seed=SEED)


def rensa_per_doc(batch_texts):
    from rensa import RMinHash

    out = []
    for t in batch_texts:
        m = RMinHash(NUM_PERM, SEED)
        m.update(py_shingles(t))
        out.append(m.digest())
    return out


def rensa_matrix(batch_texts):
    """rensa's fastest full-set API on our input: a digest matrix per batch of shingle lists."""
    from rensa import RMinHash

    return [RMinHash.digest_matrix_from_token_sets([py_shingles(t) for t in batch_texts[s:s + BATCH]],
                                                   NUM_PERM, SEED)
            for s in range(0, len(batch_texts), BATCH)]


def cminhash_matrix(batch_texts):
    from rensa import CMinHash

    return [CMinHash.digests_from_token_sets([py_shingles(t) for t in batch_texts[s:s + BATCH]], NUM_PERM, SEED)
            for s in range(0, len(batch_texts), BATCH)]


def fused_whitespace(batch_texts):
    return fused_whitespace_signatures(batch_texts, K, MINHASH)


# ---------------------------------------------------------------- a. text -> signature

TEXT_CASES = {
    "dedup[1 thread]": ("dedup", 1, dedup_text_signatures),
    "dedup[2 threads]": ("dedup", 2, dedup_text_signatures),
    # The path normalize -> shingle -> signatures, when sketch() no longer takes it (not tracked).
    "dedup normalize+shingle[1 thread]": ("dedup", 1, dedup_normalize_shingle_signatures),
    "datasketch update": ("reference", None, datasketch_update),
    "datasketch update_batch": ("reference", None, datasketch_update_batch),
    "datasketch bulk": ("reference", None, datasketch_bulk),
    "rensa RMinHash per doc": ("reference", None, rensa_per_doc),
    "rensa RMinHash matrix": ("reference", None, rensa_matrix),
    "rensa CMinHash matrix": ("reference", None, cminhash_matrix),
    # The "fused loop over the UTF-8 bytes", without Unicode words (benchmarks/fused_reference.py).
    "fused loop, whitespace words": ("reference", 1, fused_whitespace),
}
CAPS = {"datasketch update": CAP_DS_UPDATE, "datasketch update_batch": CAP_DS_UPDATE_BATCH}


@pytest.mark.parametrize("n", TEXT_SIZES, ids=lambda n: f"n={n}")
@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_text_to_signature(benchmark, threads, case, n):
    role, n_threads, fn = TEXT_CASES[case]
    if case.startswith("dedup normalize+shingle") and (shingle_texts is None or (n > 10_000)):
        pytest.skip("same as dedup[1 thread] on this dedup" if shingle_texts is None else "up to 10k docs")
    if case.startswith("rensa CMinHash") and (n > 1000 or not FULL):
        pytest.skip("CMinHash is 2-3x slower than rensa's RMinHash: measured in the full set at 1k only")
    docs = texts(min(n, CAPS.get(case, n)))
    threads(n_threads or 1)
    benchmark.group = f"text->signature n={n}"
    if case == "dedup[1 thread]" and shingle_texts is not None:  # both dedup paths: the same signatures
        assert np.array_equal(dedup_fused_signatures(docs[:300]), dedup_normalize_shingle_signatures(docs[:300]))
    if case == "fused loop, whitespace words":  # the same hashing as dedup's where words are plain
        plain = [" ".join(re.findall(r"[a-z]+", t.lower())) for t in docs[:300]]
        assert np.array_equal(fused_whitespace(plain), dedup_text_signatures(plain))
    path = SKETCH_PATH if case in ("dedup[1 thread]", "dedup[2 threads]") else None
    measure(benchmark, lambda: fn(docs), len(docs), role, case=case, **({"path": path} if path else {}))


# ---------------------------------------------------------------- text -> signature, dedup's stages

STAGES = ["normalize", "join", "shingle", "minhash", "shingle_texts"]


@pytest.mark.parametrize("stage", STAGES)
def test_text_to_signature_stages(benchmark, threads, stage):
    """Where dedup's text->signature time goes, 1 thread, 1k docs, through public functions:
    ``normalize`` per text; ``join`` (the batch as one str; part of ``shingle``); ``shingle``
    (dedup.shingle.shingle on normalised text: join + kernel); ``minhash``
    (dedup.minhash.signatures); ``shingle_texts`` (raw text in, folding in the kernel:
    the path dedup.sketch takes when this dedup has it)."""
    if stage == "shingle_texts" and shingle_texts is None:
        pytest.skip("this dedup has no shingle_texts")
    n = 1000
    raw = texts(n)
    norm = [normalize(t, NORMALIZE) for t in raw]
    sh = shingle(norm, SHINGLE)
    threads(1)
    jobs = {
        "normalize": lambda: [normalize(t, NORMALIZE) for t in raw],
        "join": lambda: join(norm),
        "shingle": lambda: shingle(norm, SHINGLE),
        "minhash": lambda: signatures(sh.hashes, sh.indptr, MINHASH),
        "shingle_texts": lambda: shingle_texts(raw, SHINGLE, NORMALIZE),
    }
    benchmark.group = f"text->signature stages n={n}"
    measure(benchmark, jobs[stage], n, "stage", case=stage, shingles=int(len(sh.hashes)),
            bytes=int(sum(len(t.encode()) for t in norm)))


# ---------------------------------------------------------------- b. signatures only

@lru_cache(maxsize=4)
def shingle_hashes(n: int):
    norm = [normalize(t, NORMALIZE) for t in texts(n)]
    sh = shingle(norm, SHINGLE)
    low = sh.hashes & np.uint64(0xFFFFFFFF)
    ints = [low[sh.indptr[i]:sh.indptr[i + 1]].tolist() for i in range(n)]
    return sh.hashes, sh.indptr, ints


@pytest.mark.parametrize("n", SIG_SIZES, ids=lambda n: f"n={n}")
@pytest.mark.parametrize("case", ["dedup[1 thread]", "dedup[2 threads]", "datasketch bulk"])
def test_signatures_only(benchmark, threads, case, n):
    from datasketch import MinHash

    hashes, indptr, ints = shingle_hashes(n)
    # Same input, same permutations: dedup's signatures must equal datasketch's bit for bit.
    ours = signatures(hashes, indptr[:51], MINHASH)
    theirs = np.array([m.hashvalues for m in MinHash.bulk(ints[:50], num_perm=NUM_PERM, seed=SEED, hashfunc=int)])
    assert np.array_equal(ours, theirs), "dedup and datasketch signatures differ on the same shingle hashes"
    benchmark.group = f"signatures only n={n}"
    if case.startswith("dedup"):
        threads(2 if "2" in case else 1)
        measure(benchmark, lambda: signatures(hashes, indptr, MINHASH), n, "dedup", case=case)
    else:
        # hashfunc=int: an identity on the precomputed 32-bit ints, called in C (no Python frame)
        threads(1)
        measure(benchmark, lambda: MinHash.bulk(ints, num_perm=NUM_PERM, seed=SEED, hashfunc=int), n,
                "reference", case=case)


# ---------------------------------------------------------------- c. LSH candidates

@lru_cache(maxsize=1)
def all_signatures() -> np.ndarray:
    n = max(LSH_SIZES + E2E_SIZES)
    return dedup_text_signatures(texts(n))


def datasketch_candidates(minhashes) -> set[tuple[int, int]]:
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=(BANDS, ROWS))
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            session.insert(i, m, check_duplication=False)
    pairs = set()
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            if j > i:
                pairs.add((i, j))
    return pairs


@pytest.mark.parametrize("n", LSH_SIZES, ids=lambda n: f"n={n}")
@pytest.mark.parametrize("case", ["dedup", "datasketch MinHashLSH"])
def test_lsh(benchmark, threads, case, n):
    from datasketch import LeanMinHash

    sigs = all_signatures()[:n]
    threads(1)
    benchmark.group = f"lsh n={n}"
    found = candidates(sigs, BANDS, ROWS, MAX_BUCKET)
    info = dict(case=case, bands=BANDS, rows=ROWS, candidates=int(len(found.pairs)))
    if case == "dedup":
        measure(benchmark, lambda: candidates(sigs, BANDS, ROWS, MAX_BUCKET), n, "dedup", **info)
    else:
        minhashes = [LeanMinHash(seed=SEED, hashvalues=s, scheme="affine32") for s in sigs]
        if n <= 10_000 and not found.oversized:  # same signatures, same bands: the same pairs
            assert datasketch_candidates(minhashes) == set(map(tuple, found.pairs.tolist()))
        measure(benchmark, lambda: datasketch_candidates(minhashes), n, "reference", **info)


# ---------------------------------------------------------------- d. find, end to end

def datasketch_find(batch_texts: list[str]) -> tuple[list[tuple[int, int]], list[int]]:
    """The same job with datasketch: MinHash.bulk + MinHashLSH + exact Jaccard on Python sets,
    then connected components (union-find). Returns (verified pairs, cluster label per doc)."""
    from datasketch import MinHash, MinHashLSH

    sets = [set(py_shingles(t)) for t in batch_texts]
    minhashes = MinHash.bulk(([s.encode() for s in x] for x in sets), num_perm=NUM_PERM, seed=SEED)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=(BANDS, ROWS))
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            session.insert(i, m, check_duplication=False)
    parent = list(range(len(sets)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = []
    for i, m in enumerate(minhashes):
        a = sets[i]
        for j in lsh.query(m):
            if j > i:
                b = sets[j]
                inter = len(a & b)
                union = len(a) + len(b) - inter
                if union and inter / union >= THRESHOLD:
                    pairs.append((i, j))
                    parent[root(i)] = root(j)
    return pairs, [root(i) for i in range(len(sets))]


@lru_cache(maxsize=4)
def documents(n: int) -> list[dedup.Document]:
    return [dedup.Document(d["id"], d["text"], source=d["source"], published=d["published"]) for d in corpus()[:n]]


E2E_CONFIG = Config(shingle=SHINGLE, minhash=MINHASH, match=MatchParams(threshold=THRESHOLD))


@pytest.mark.parametrize("n", E2E_SIZES, ids=lambda n: f"n={n}")
@pytest.mark.parametrize("case", ["dedup[1 thread]", "dedup[2 threads]", "datasketch"])
def test_find_end_to_end(benchmark, threads, case, n):
    if case == "dedup[2 threads]" and not FULL:
        pytest.skip("two threads end to end: full set only (keeps the quick set under 2 minutes)")
    benchmark.group = f"find end to end n={n}"
    copies = sum(d["copy_of"] is not None for d in corpus()[:n])
    if case.startswith("dedup"):
        docs = documents(n)
        threads(2 if "2" in case else 1)
        result = measure(benchmark, lambda: dedup.find(docs, E2E_CONFIG), n, "dedup", case=case, copies=copies)
        assert (result.stats["bands"], result.stats["rows"]) == (BANDS, ROWS)
        benchmark.extra_info.update(pairs=result.stats["pairs"], clusters=result.stats["clusters"])
    else:
        raw = texts(n)
        threads(1)
        pairs, labels = measure(benchmark, lambda: datasketch_find(raw), n, "reference", case=case, copies=copies)
        benchmark.extra_info.update(pairs=len(pairs), clusters=int(np.sum(np.bincount(labels) > 1)))
