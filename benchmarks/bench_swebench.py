"""Grading one SWE-bench instance: our grader (a fresh hardened session of the instance's
image with the runner injected, the workspace seeded, the diff filtered and applied, the
evaluation script, the log parsed on the host) against the bare minimum in the same script:
one plain `docker run` of the same image that applies both patches in /testbed as root and
runs the same test command. Goal: ratio <= 1.3 (the issue's bar for per-task overhead).

The synthetic instances of the tests (tests/evals/swebench_world.py) are used: a tiny
repository, so the figure is the fixed cost of a grading, the worst case for the ratio.
Run: python benchmarks/bench_swebench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

GOAL = 1.3


def ours(world, repeat: int) -> tuple[float, bool]:
    from dgm.evals.base import PATCH_FILE
    from dgm.evals.swebench import SweBenchSuite
    from dgm.sandbox import open_backend
    from tests.evals.swebench_world import TEMPLATE, TEST_CMD

    suite = SweBenchSuite(world.data, image_template=TEMPLATE, test_cmd=TEST_CMD, workers=1, memory_mb=1024, work_mb=256)
    backend = open_backend("docker")
    task = suite.tasks()[0]
    suite.grade(backend, [(task, {PATCH_FILE: world.patches["gold1"].encode()})])  # prepares the derived image once
    times, passed = [], True
    for _ in range(repeat):
        start = time.perf_counter()
        (verdict,) = suite.grade(backend, [(task, {PATCH_FILE: world.patches["gold1"].encode()})])
        times.append(time.perf_counter() - start)
        passed = passed and verdict.passed
    return statistics.median(times), passed


def direct(world, repeat: int) -> tuple[float, bool]:
    import docker

    from tests.evals.swebench_world import TEST_CMD

    client = docker.from_env()
    image = "dgm-swebench-test:dgm_1776_calc-1"
    script = (
        f"cd /testbed && printf '%s' \"$GOLD\" > /tmp/g.diff && printf '%s' \"$TEST\" > /tmp/t.diff "
        f"&& git apply /tmp/g.diff && git apply /tmp/t.diff && {TEST_CMD}"
    )
    env = {"GOLD": world.patches["gold1"], "TEST": world.patches["test1"]}
    times, passed = [], True
    for _ in range(repeat):
        start = time.perf_counter()
        container = client.containers.run(image, ["bash", "-c", script], user="root", network_mode="none",
                                          environment=env, detach=True)  # fmt: skip
        code = container.wait()["StatusCode"]
        log = container.logs().decode()
        container.remove(force=True)
        times.append(time.perf_counter() - start)
        passed = passed and code == 0 and "PASSED tests/test_calc.py::test_add" in log
    return statistics.median(times), passed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from tests.evals.swebench_world import build_world

    with tempfile.TemporaryDirectory(prefix="bench-swebench-") as tmp:
        world = build_world(Path(tmp))
        base, base_ok = direct(world, args.repeat)
        ours_t, ours_ok = ours(world, args.repeat)
    ratio = ours_t / base
    print(f"direct docker run (root, same image, same test command): {base:.2f} s median, passed={base_ok}")
    print(f"dgm grading (hardened session, runner injected, log parsed): {ours_t:.2f} s median, passed={ours_ok}")
    print(f"ratio {ratio:.2f} (goal <= {GOAL}) -> {'met' if ratio <= GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
