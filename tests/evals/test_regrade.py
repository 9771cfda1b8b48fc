"""A grading sandbox whose runner dies mid-command (the engine still running, so no machine
fault) is graded once more in a fresh sandbox; a second loss is the grader's error. Real
Docker: the runner is killed from the host, by a command run in its container as its user."""

from __future__ import annotations

from pathlib import Path

import pytest

from dgm.evals import get_suite
from dgm.evals.humaneval import grade_completions, problems
from dgm.evals.polyglot.layout import example_files
from tests.evals.lost_runner import LosingBackend

pytestmark = pytest.mark.docker

ROOT = Path(__file__).parents[2]


def leap_item():
    suite = get_suite(f"custom:{ROOT / 'evals' / 'examples' / 'exercises'}")
    task = next(t for t in suite.tasks() if t.id.endswith("leap"))
    solution = b"def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n"
    return suite, task, {**task.workspace, "leap.py": solution}


def test_a_lost_grading_sandbox_is_graded_again_and_a_second_loss_is_the_graders_error(backend):
    suite, task, output = leap_item()
    once = LosingBackend(backend, 1)
    (verdict,) = suite.grade(once, [(task, output)])
    assert verdict.passed and verdict.reason == "ok", verdict.log
    assert once.started == 2

    twice = LosingBackend(backend, 2)
    (verdict,) = suite.grade(twice, [(task, output)])
    assert not verdict.passed and verdict.reason == "grader-error"
    assert "the sandbox session ended" in verdict.log and twice.started == 2


def test_humaneval_batches_and_polyglot_gradings_are_graded_again_too(backend, polyglot_backend):
    canonical = {p.task_id: p.canonical_solution for p in problems()[:3]}
    once = LosingBackend(backend, 1)
    verdicts = grade_completions(once, canonical)
    assert [v.passed for v in verdicts.values()] == [True] * 3 and once.started == 2
    assert all(v.reason == "grader-error" for v in grade_completions(LosingBackend(backend, 2), canonical).values())

    polyglot = get_suite(f"polyglot-python:{ROOT / 'evals' / 'polyglot-sample'}")
    (folder, exercise), task = polyglot.exercises[0], polyglot.tasks()[0]
    once = LosingBackend(polyglot_backend, 1)
    (verdict,) = polyglot.grade(once, [(task, example_files(folder, exercise))])
    assert verdict.passed, verdict.log
    assert once.started == 2
