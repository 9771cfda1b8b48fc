"""Web view speed: time to load a run of N agents (default 2,000) in `dgm serve`.

Builds a demo run of N agents (the report's synthetic archive: seed, children, evaluations,
ledger, a reviewer's verdicts), starts the real `dgm serve` process, and times with real HTTP:
- the first page (the lineage of every agent, as an SVG) — goal: under 1 s;
- the review queue page and one child's page (side-by-side diff);
against the baseline `dgm archive ls` on the same run (a subprocess CLI call, whole), all in
this script. Median of several rounds; the server is warm after its first request.

    python benchmarks/bench_serve.py [--agents N] [--rounds R]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
DGM = str(BIN / "dgm") if (BIN / "dgm").exists() else "dgm"
GOAL_FIRST_PAGE = 1.0


def timed(fn, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from dgm.report.demo import build_demo_archive

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        start = time.perf_counter()
        archive, _ = build_demo_archive(run, args.agents, seed=1)
        archive.close()
        print(f"built a run of {args.agents} agents in {time.perf_counter() - start:.1f} s")

        baseline, _ = timed(lambda: subprocess.run([DGM, "archive", "ls", "--run", str(run)], capture_output=True, check=True), args.rounds)
        proc = subprocess.Popen([DGM, "serve", "--run", str(run)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            match = re.match(r"URL (http://[^/]+)/\?token=(\S+)", proc.stdout.readline())
            assert match, "dgm serve printed no URL"
            base, token = match.groups()
            cookie = {"Cookie": f"dgm_token={token}"}

            def get(path: str) -> bytes:
                with urllib.request.urlopen(urllib.request.Request(base + path, headers=cookie)) as response:
                    return response.read()

            cold_start = time.perf_counter()
            first = get("/")
            cold = time.perf_counter() - cold_start
            lineage, page = timed(lambda: get("/"), args.rounds)
            nodes = page.count(b'class="node ')
            queue, _ = timed(lambda: get("/queue"), args.rounds)
            child, _ = timed(lambda: get("/agent/a2"), args.rounds)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert nodes == args.agents and first
    print(f"baseline  dgm archive ls (whole CLI call)   {baseline:6.3f} s")
    print(f"serve     first page, lineage of {nodes} agents: {lineage:6.3f} s warm, {cold:6.3f} s on the server's first request "
          f"({len(page) / 1e6:.1f} MB)  ratio to baseline {lineage / baseline:4.2f}x  goal < {GOAL_FIRST_PAGE} s: "
          f"{'met' if max(lineage, cold) < GOAL_FIRST_PAGE else 'MISSED'}")
    print(f"serve     review queue page                  {queue:6.3f} s  ratio {queue / baseline:4.2f}x")
    print(f"serve     one child's page (a2)              {child:6.3f} s  ratio {child / baseline:4.2f}x")


if __name__ == "__main__":
    main()
