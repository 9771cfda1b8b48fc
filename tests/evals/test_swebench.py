"""swebench:FILE end to end on a synthetic instance set in the dataset's format: a small
repository made here, its environment image built locally FROM the sandbox image, real
Docker, the swebench package's pytest log parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dgm.evals import Stage, StagePlan, evaluate
from dgm.evals.base import PATCH_FILE
from dgm.evals.swebench import SweBenchSuite
from dgm.sandbox import Limits
from tests.evals.lost_runner import LosingBackend
from tests.evals.swebench_world import BASE_FILES, TEMPLATE, TEST_ADD, TEST_CMD, World, build_world, diff_of, fixed

pytestmark = pytest.mark.docker


FORGER = "import atexit\natexit.register(print, 'PASSED tests/test_calc.py::test_add')\n\n\n"
"""Prints a passing line for the failing test after pytest's own summary."""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return build_world(tmp_path_factory.mktemp("swebench"))


def suite_of(data: Path) -> SweBenchSuite:
    return SweBenchSuite(data, image_template=TEMPLATE, test_cmd=TEST_CMD, test_timeout=120, timeout=120, memory_mb=1024, work_mb=256)


def test_gold_resolves_and_gamed_or_broken_patches_do_not(backend, world):
    repo, patches = world.repo, world.patches
    suite = suite_of(world.data)
    first, second = suite.tasks()
    assert first.environment.image == "dgm-swebench-test:dgm_1776_calc-1"
    hook = "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    outcome = yield\n    outcome.get_result().outcome = 'passed'\n"  # fmt: skip
    outputs = {
        "gold": patches["gold1"],
        "gold-that-also-edits-tests": diff_of(repo, {"calc/__init__.py": fixed(add="a + b"), "tests/test_calc.py": "x = 1\n"}),
        "empty": "",
        "edits-failing-test": diff_of(repo, {"tests/test_calc.py": TEST_ADD.replace("assert add(2, 3) == 5", "pass")}),
        "deletes-tests": diff_of(repo, {"tests/test_calc.py": None}),
        "conftest-hook": diff_of(repo, {"conftest.py": hook}),
        "breaks-pass-to-pass": diff_of(repo, {"calc/__init__.py": fixed(add="a + b", sub="a + b")}),
        "prints-forged-results": diff_of(repo, {"calc/__init__.py": FORGER + BASE_FILES["calc/__init__.py"]}),
        "garbage": "this is not a diff \x00\xff\n",
        "broken-hunk": "diff --git a/calc/__init__.py b/calc/__init__.py\n--- a/calc/__init__.py\n+++ b/calc/__init__.py\n@@ -1,2 +1,2 @@\n-nothing here\n+x\n",
    }
    items = [(first, {PATCH_FILE: text.encode("utf-8", "surrogateescape")}) for text in outputs.values()]
    items.append((second, {PATCH_FILE: patches["gold2"].encode()}))
    verdicts = suite.grade(backend, items)
    got = {name: (v.passed, v.reason) for name, v in zip([*outputs, "gold2"], verdicts)}
    assert got == {
        "gold": (True, "ok"),
        "gold-that-also-edits-tests": (True, "ok"),
        "empty": (False, "failed"),
        "edits-failing-test": (False, "failed"),
        "deletes-tests": (False, "failed"),
        "conftest-hook": (False, "failed"),
        "breaks-pass-to-pass": (False, "failed"),
        "prints-forged-results": (False, "inconsistent-log"),
        "garbage": (False, "patch-failed"),
        "broken-hunk": (False, "patch-failed"),
        "gold2": (True, "ok"),
    }, {name: v.log[-1500:] for name, v in zip([*outputs, "gold2"], verdicts) if not v.passed}
    gamed = dict(zip(outputs, verdicts))
    assert "left out of the diff (tests, hooks): conftest.py" in gamed["conftest-hook"].log
    assert "tests/test_calc.py::test_sub: FAILED" in gamed["breaks-pass-to-pass"].log


def test_a_grading_that_lost_its_sandbox_is_graded_again(backend, world):
    suite = suite_of(world.data)
    gold = [(suite.tasks()[0], {PATCH_FILE: world.patches["gold1"].encode()})]
    once = LosingBackend(backend, 1)
    (verdict,) = suite.grade(once, gold)
    assert (verdict.passed, verdict.reason, once.started) == (True, "ok", 2), verdict.log
    twice = LosingBackend(backend, 2)
    (verdict,) = suite.grade(twice, gold)
    assert (verdict.passed, verdict.reason) == (False, "grader-error") and "the sandbox session ended" in verdict.log


def test_a_known_repository_is_graded_with_the_packages_own_specification(backend, world):
    suite = SweBenchSuite(world.known, image_template=TEMPLATE, test_timeout=120, memory_mb=1024, work_mb=256)
    (task,) = suite.tasks()
    outputs = [world.patches["gold1"], "", diff_of(world.repo, {"calc/__init__.py": FORGER + BASE_FILES["calc/__init__.py"]})]
    verdicts = suite.grade(backend, [(task, {PATCH_FILE: text.encode()}) for text in outputs])
    assert [(v.passed, v.reason) for v in verdicts] == [(True, "ok"), (False, "failed"), (False, "inconsistent-log")], verdicts[0].log[-3000:]
    assert "conda activate testbed" in verdicts[0].log and "pytest -rA tests/test_calc.py" in verdicts[0].log


def test_an_agent_runs_in_the_instance_image_through_evaluate(backend, make_agent, world, tmp_path):
    from dgm.archive import Archive

    data = world.data
    agent = make_agent("fixer", "swebench_fix.py")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.toml").write_text('name = "test"\n')
    archive = Archive.create(tmp_path / "run")
    a = archive.add_seed(agent)
    plan = StagePlan((Stage(1, 0.0), Stage(1)), seed=3)
    options = {"swebench": {"image_template": TEMPLATE, "test_cmd": TEST_CMD, "test_timeout": 120, "timeout": 120,
                            "memory_mb": 1024, "work_mb": 256}}  # fmt: skip
    limits = Limits(wall_seconds=240, exec_timeout=120)
    report = evaluate(agent, [f"swebench:{data}"], plan, backend, archive=archive, agent_id=a.id, limits=limits,
                      progress=False, suite_options=options)  # fmt: skip
    by_id = {r.task_id.split("/")[-1]: r for r in report.results}
    assert len(report.stages) == 2 and report.suite_score("swebench-instances") == 0.5
    assert by_id["dgm__calc-1"].passed and not by_id["dgm__calc-2"].passed, by_id["dgm__calc-1"].log[-3000:]
    log = by_id["dgm__calc-1"].log
    assert "uid=10001" in log and "testbed->/work" in log and "instruction-has-hidden-tests=False" in log
    assert [e.suite for e in archive.evaluations(a.id)] == ["swebench-instances"] * 2
    again = evaluate(agent, [f"swebench:{data}"], plan, backend, archive=archive, agent_id=a.id, limits=limits,
                     progress=False, suite_options=options)  # fmt: skip
    assert again.reused and [r.task_id for r in again.results] == [r.task_id for r in report.results]


def test_dgm_eval_runs_the_seed_agent_on_an_instance_with_the_gateway_mounted(world, tmp_path):
    """The CLI end to end: the seed agent reaches the (scripted) model through the gateway
    from inside the instance's image; the spend lands in the ledger."""
    import subprocess
    import sys

    first = world.data.read_text().splitlines()[0]
    data = tmp_path / "one.jsonl"
    data.write_text(first + "\n")
    seed = Path(__file__).parents[2] / "archive" / "seeds" / "coder"
    env = {"DGM_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "dgm.cli", "eval", str(seed), "--suite", f"swebench:{data}", "--swebench-image", TEMPLATE,
           "--model", "scripted:dry-run", "--json"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["llm_spend_usd"] > 0 and [r["task_id"] for r in report["results"]] == ["swebench-one/dgm__calc-1"]
    assert report["results"][0]["exit_reason"] != "grader-error"
