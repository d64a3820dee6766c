"""Scale of `dedup stories`: wall time and peak memory on generated articles.

Run: python benchmarks/stories_scale.py 10000 20000 100000
Each size runs in its own process; memory is the peak RSS (getrusage) minus the RSS
after generating the articles, so it is what find_stories itself needs.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(n: int) -> None:
    sys.path.insert(0, str(HERE))
    from generate import generate

    from dedup import Document
    from dedup.stories import find_stories

    docs = [Document(d["id"], d["text"], source=d["source"], published=d["published"]) for d in generate(n, seed=0)]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = find_stories(docs)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "seconds": round(seconds, 1), "peak_mb_over_input": round(peak - base),
                      "stories": result.stats.get("stories"), "links": result.stats.get("links")}))


def main(sizes: list[int]) -> int:
    print(f"{'articles':>9} {'seconds':>8} {'MB (peak over input)':>21} {'KB/article':>11} {'stories':>8}")
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{n:>9} failed: {out.stderr.strip().splitlines()[-1:]}")
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{n:>9} {r['seconds']:>8} {r['peak_mb_over_input']:>21} {r['peak_mb_over_input'] * 1024 / n:>11.1f} "
              f"{r['stories']:>8}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]))
    else:
        sys.exit(main([int(x) for x in sys.argv[1:]] or [10_000, 20_000]))
