"""How each stage of text -> signature scales from 1 to 2 numba threads (README, "Performance").

    python benchmarks/two_cores.py [--n 40000] [--rounds 6]

On ``generate.py``'s articles (seed 0, 500 words), in batches of ``dedup.sketch.BATCH``: joining
a batch into one str (Python, one thread), the shingle kernel and MinHash, each timed alone, then
the three together as ``dedup.sketch`` runs them. 1- and 2-thread rounds alternate (the machine's noise
comes and goes over minutes); best and median microseconds per document and their ratios are
printed, with the load average. What the whole can gain is bounded by the serial join.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate  # noqa: E402

from dedup.minhash import signatures  # noqa: E402
from dedup.params import MinHashParams, ShingleParams  # noqa: E402
from dedup.shingle import join, shingle_texts  # noqa: E402
from dedup.shingle import _kernel as shingle_kernel  # noqa: E402
from dedup.sketch import BATCH  # noqa: E402

SHINGLE = ShingleParams(unit="word", k=5)
MINHASH = MinHashParams(num_perm=128, seed=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=40_000)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args(argv)
    texts = [d["text"] for d in generate(args.n, seed=0, words=500)]
    batches = [texts[s:s + BATCH] for s in range(0, len(texts), BATCH)]
    joined = [join(b) for b in batches]
    hashed = [shingle_kernel(text, offsets, SHINGLE, fold=True) for text, offsets in joined]

    def whole() -> None:
        for b in batches:
            sh = shingle_texts(b, SHINGLE)
            signatures(sh.hashes, sh.indptr, MINHASH)

    stages = {
        "join": (lambda: [len(join(b)[0]) for b in batches], (1,)),  # not kept, as in dedup.sketch
        "shingle kernel": (lambda: [shingle_kernel(t, o, SHINGLE, fold=True) for t, o in joined], (1, 2)),
        "minhash": (lambda: [signatures(h, ip, MINHASH) for h, _, ip, _ in hashed], (1, 2)),
        "text -> signature": (whole, (1, 2)),
    }
    whole()  # compile or load the kernels
    times: dict[tuple[str, int], list[float]] = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for name, (fn, threads) in stages.items():
            for t in threads:
                numba.set_num_threads(t)
                start = time.perf_counter()
                fn()
                times.setdefault((name, t), []).append((time.perf_counter() - start) / len(texts) * 1e6)
    load.append(os.getloadavg()[0])
    print(f"{len(texts):,} documents, {args.rounds} alternating rounds, load {load[0]:.2f} -> {load[1]:.2f}")
    print(f"{'stage':20s} {'1 thread best/median us':>24s} {'2 threads best/median us':>25s} {'scaling':>16s}")
    for name, (_, threads) in stages.items():
        one = np.array(times[(name, 1)])
        row = f"{name:20s} {one.min():11.2f} / {np.median(one):6.2f}"
        if 2 in threads:
            two = np.array(times[(name, 2)])
            row += (f" {two.min():12.2f} / {np.median(two):6.2f}"
                    f" {one.min() / two.min():7.2f}x / {np.median(one) / np.median(two):.2f}x")
        else:
            row += f" {'(one thread: Python)':>25s}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
