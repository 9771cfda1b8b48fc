"""Polyglot grading overhead: our grader (fresh sandbox, pristine tree, trusted driver, fresh
report path, stray-process sweep, decision on the host) versus running the language's own
test command directly in a container of the same image (same limits, same files, the same
commands run one after the other with `exec`, no driver, no decision), in the same script,
on every exercise of the sample with its example solution. Goal: ratio <= 1.3.

Run: python benchmarks/bench_polyglot.py [--repeat 3] [--sample evals/polyglot-sample]
(needs the polyglot image: dgm sandbox build --image polyglot)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

SAMPLE = Path(__file__).parents[1] / "evals" / "polyglot-sample"


def ours(backend, task, files) -> tuple[float, bool]:
    from dgm.evals.polyglot.grade import grade_exercise

    start = time.perf_counter()
    verdict = grade_exercise(backend, task.id, task.hidden, files)
    return time.perf_counter() - start, verdict.passed


def direct(backend, task, files) -> tuple[float, bool]:
    """The baseline: the same commands, run straight by `exec` in a fresh container."""
    from dgm.evals.polyglot.grade import GRADE_LIMITS, graded_tree
    from dgm.evals.polyglot.languages import LANGUAGE_SPECS

    exercise = task.hidden.exercise
    language = LANGUAGE_SPECS[exercise.language]
    tree = graded_tree(exercise, files)
    start = time.perf_counter()
    with backend.start(GRADE_LIMITS, [], {"purpose": "bench"}) as session:
        session.put_files("/work", tree)
        session.exec(["mkdir", "-p", "/tmp/report"], cwd="/work")
        ok = True
        for step in language.steps(exercise, tree):
            argv = [a.replace("{report}", f"/tmp/report/{language.report_name}").replace("{reportdir}", "/tmp/report")
                    for a in step.argv]
            result = session.exec(argv, timeout=step.timeout, env=language.full_env(), cwd="/work")
            ok = ok and result.exit_code == 0
    return time.perf_counter() - start, ok


def main() -> None:
    parser = argparse.ArgumentParser(description="polyglot grading vs the bare test command")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    args = parser.parse_args()
    from dgm import sandbox
    from dgm.evals import get_suite
    from dgm.evals.polyglot.layout import example_files

    backend = sandbox.open_backend("docker", sandbox.POLYGLOT_IMAGE)
    suite = get_suite(f"polyglot:{args.sample}")
    rows = []
    per_language: dict[str, float] = defaultdict(float)
    for (folder, exercise), task in zip(suite.exercises, suite.tasks()):
        files = example_files(folder, exercise)
        ours(backend, task, files)  # warm the page cache for this toolchain
        ours_t, direct_t = [], []
        for _ in range(args.repeat):
            t, passed = ours(backend, task, files)
            ours_t.append(t)
            t, ran = direct(backend, task, files)
            direct_t.append(t)
        o, d = statistics.median(ours_t), statistics.median(direct_t)
        per_language[exercise.language] += o
        rows.append((task.id, d, o, passed, ran))
    print(f"polyglot sample, example solutions, median of {args.repeat} (one exercise at a time)")
    print(f"  {'exercise':40} {'direct s':>9} {'dgm s':>8} {'ratio':>6}")
    for task_id, d, o, passed, ran in rows:
        print(f"  {task_id:40} {d:9.2f} {o:8.2f} {o / d:6.2f}  {'passed' if passed else 'FAILED'}"
              f"{'' if ran else ' (direct run failed)'}")
    total_d, total_o = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"  {'all':40} {total_d:9.2f} {total_o:8.2f} {total_o / total_d:6.2f}  (goal <= 1.3x)")
    print("  grading all sample exercises per language (sequential): "
          + ", ".join(f"{lang} {secs:.1f} s" for lang, secs in per_language.items()))


if __name__ == "__main__":
    main()
