"""swebench:FILE end to end on a synthetic instance set in the dataset's format: a small
repository made here, its environment image built locally FROM the sandbox image, real
Docker, the swebench package's pytest log parser."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from evals import Stage, StagePlan, evaluate
from evals.base import PATCH_FILE
from evals.swebench import SweBenchSuite
from sandbox import Limits

pytestmark = pytest.mark.docker

BASE_FILES = {
    "calc/__init__.py": "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n",
    "tests/__init__.py": "",
    "tests/test_calc.py": "from calc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n",
}
TEST_CMD = "python3 -m pytest -rA -p no:cacheprovider tests"
TEMPLATE = "dgm-swebench-test:{id}"


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z", "HOME": str(repo)}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def diff_of(repo: Path, changes: dict[str, str | None]) -> str:
    """The git diff that `changes` (path -> text, None deletes) make to the base commit."""
    for path, text in changes.items():
        target = repo / path
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    git(repo, "add", "-A")
    diff = git(repo, "diff", "--cached", "HEAD")
    git(repo, "reset", "-q", "--hard", "HEAD")
    return diff


def fixed(**subs: str) -> str:
    text = BASE_FILES["calc/__init__.py"]
    for name, body in subs.items():
        old = {"add": "a - b", "mul": "a + b", "sub": "a - b"}[name]
        text = text.replace(f"def {name}(a, b):\n    return {old}", f"def {name}(a, b):\n    return {body}")
    return text


TEST_ADD = BASE_FILES["tests/test_calc.py"].replace("import sub", "import add, sub") + "\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(repo, instances file, patches) with the environment images built."""
    import pytest as pytest_module

    import docker

    root = tmp_path_factory.mktemp("swebench")
    repo = root / "context" / "testbed"
    repo.mkdir(parents=True)
    for path, text in BASE_FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    patches = {
        "gold1": diff_of(repo, {"calc/__init__.py": fixed(add="a + b")}),
        "gold2": diff_of(repo, {"calc/__init__.py": fixed(mul="a * b")}),
        "test1": diff_of(repo, {"tests/test_calc.py": TEST_ADD}),
        "test2": diff_of(repo, {"tests/test_mul.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"}),
    }
    instances = [
        {"instance_id": "dgm__calc-1", "repo": "dgm/calc", "base_commit": base, "version": "0.1",
         "problem_statement": "add(2, 3) returns -1; it should return the sum.", "patch": patches["gold1"],
         "test_patch": patches["test1"], "FAIL_TO_PASS": json.dumps(["tests/test_calc.py::test_add"]),
         "PASS_TO_PASS": json.dumps(["tests/test_calc.py::test_sub"]), "test_cmd": TEST_CMD, "log_parser": "parse_log_pytest"},
        {"instance_id": "dgm__calc-2", "repo": "dgm/calc", "base_commit": base, "version": "0.1",
         "problem_statement": "mul(2, 3) returns 5; it should return the product.", "patch": patches["gold2"],
         "test_patch": patches["test2"], "FAIL_TO_PASS": ["tests/test_mul.py::test_mul"],
         "PASS_TO_PASS": ["tests/test_calc.py::test_sub"]},  # test_cmd from the suite's options
    ]  # fmt: skip
    data = root / "instances.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in instances))
    # pytest is not in the sandbox image: copy the test runner's own (pure Python) packages in.
    site = Path(pytest_module.__file__).parents[1]
    (root / "context" / "site").mkdir()
    for name in ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "py.py"):
        for source in [site / name, *site.glob(f"{name}-*.dist-info")]:
            copy = shutil.copytree if source.is_dir() else shutil.copy
            copy(source, root / "context" / "site" / source.name)
    (root / "context" / "Dockerfile").write_text(
        "FROM dgm-sandbox:latest\nUSER root\nCOPY site /usr/lib/python3/dist-packages/\nCOPY testbed /testbed\n"
    )
    client = docker.from_env()
    digest = hashlib.sha256(base.encode() + str(sorted(p.name for p in (root / "context" / "site").iterdir())).encode())
    image, _ = client.images.build(path=str(root / "context"), tag=f"dgm-swebench-test:ctx-{digest.hexdigest()[:12]}", rm=True)
    for instance in instances:
        image.tag("dgm-swebench-test", instance["instance_id"].lower().replace("__", "_1776_"))
    return repo, data, patches


def suite_of(data: Path) -> SweBenchSuite:
    return SweBenchSuite(data, image_template=TEMPLATE, test_cmd=TEST_CMD, test_timeout=120, timeout=120, memory_mb=1024, work_mb=256)


def test_gold_resolves_and_gamed_or_broken_patches_do_not(backend, world):
    repo, data, patches = world
    suite = suite_of(data)
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
        "garbage": (False, "patch-failed"),
        "broken-hunk": (False, "patch-failed"),
        "gold2": (True, "ok"),
    }, {name: v.log[-1500:] for name, v in zip([*outputs, "gold2"], verdicts) if not v.passed}
    gamed = dict(zip(outputs, verdicts))
    assert "left out of the diff (tests, hooks): conftest.py" in gamed["conftest-hook"].log
    assert "tests/test_calc.py::test_sub: FAILED" in gamed["breaks-pass-to-pass"].log


def test_an_agent_runs_in_the_instance_image_through_evaluate(backend, make_agent, world, tmp_path):
    from archive import Archive

    _, data, _ = world
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
