"""A grader whose sandbox backend goes away is not the agent's failure: every suite's
`grade` raises the machine's fault (`MachineFault`) for the stage to run again, and never
returns a 'grader-error' verdict that would count as the agent's. Real Docker (a private
daemon, tests/private_docker.py), stopped before grading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dgm.evals import get_suite
from dgm.evals.base import PATCH_FILE
from dgm.evals.polyglot.layout import example_files
from dgm.evals.swebench import SweBenchSuite
from dgm.sandbox import BackendUnavailable, MachineFault, open_backend

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
PATCH = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def swebench_suite(tmp_path: Path) -> SweBenchSuite:
    instance = {"instance_id": "dgm__gone-1", "repo": "dgm/gone", "base_commit": "0" * 40, "version": "0.1",
                "problem_statement": "x should be 2.", "patch": PATCH, "test_patch": PATCH,
                "FAIL_TO_PASS": ["tests/test_x.py::test_x"], "PASS_TO_PASS": [], "test_cmd": "pytest",
                "log_parser": "parse_log_pytest"}
    data = tmp_path / "instances.jsonl"
    data.write_text(json.dumps(instance) + "\n")
    return SweBenchSuite(data, image_template="dgm-swebench-gone:{id}", test_timeout=60, timeout=60)


def graded_items(tmp_path: Path) -> dict:
    """One task of each suite whose grader catches sandbox errors, with an output to grade."""
    custom = get_suite(f"custom:{ROOT / 'evals' / 'examples' / 'exercises'}")
    polyglot = get_suite(f"polyglot:{ROOT / 'evals' / 'polyglot-sample'}")
    folder, exercise = polyglot.exercises[0]
    swebench = swebench_suite(tmp_path)
    return {
        "custom": (custom, custom.tasks()[0], dict(custom.tasks()[0].workspace)),
        "polyglot": (polyglot, polyglot.tasks()[0], example_files(folder, exercise)),
        "swebench": (swebench, swebench.tasks()[0], {PATCH_FILE: PATCH.encode()}),
    }


def test_graders_raise_the_machines_fault_instead_of_a_failed_verdict(tmp_path, private_docker, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", private_docker.host)
    backend = open_backend("docker")
    items = graded_items(tmp_path)
    private_docker.stop()
    try:
        for name, (suite, task, output) in items.items():
            with pytest.raises(MachineFault) as raised:
                verdicts = suite.grade(backend, [(task, output)])
                pytest.fail(f"{name} graded a task while Docker was down: {verdicts}")
            assert isinstance(raised.value, BackendUnavailable), (name, raised.value)
    finally:
        private_docker.start()
