"""humaneval-fix and reasoning: every shipped task is right, graded in the sandbox."""

import pytest

from dgm.evals import get_suite
from dgm.evals.grading import grade_jobs
from dgm.evals.humaneval_fix import fix_job, fix_tasks

pytestmark = pytest.mark.docker


def test_every_fix_task_fails_buggy_and_passes_canonical(backend):
    jobs = []
    for fix in fix_tasks():
        jobs.append(fix_job(f"{fix.problem.task_id}#buggy", fix, fix.module))
        jobs.append(fix_job(f"{fix.problem.task_id}#canonical", fix, fix.problem.prompt + fix.problem.canonical_solution))
    verdicts = grade_jobs(backend, jobs)
    wrong = [v.task_id for v in verdicts if v.passed != v.task_id.endswith("#canonical")]
    assert len(fix_tasks()) >= 150 and wrong == []


def test_fix_workspace_is_a_small_repository():
    task = get_suite("humaneval-fix").tasks()[0]
    assert set(task.workspace) == {"module.py", "test_module.py", "README.md"}
    assert task.hidden.problem.canonical_solution not in task.workspace["module.py"].decode()
    assert b"check(" not in task.workspace["test_module.py"]  # the hidden test stays hidden


def test_reasoning_correct_answers_pass_wrong_fail(backend):
    suite = get_suite("reasoning", size=3)
    tasks = suite.tasks()
    assert len(tasks) == 15 and len({t.hidden.family for t in tasks}) == 5
    right = [(t, {"answer.txt": (t.hidden.entry["answer"] + "\n").encode()}) for t in tasks]
    wrong = [(t, {"answer.txt": b"not " + t.hidden.entry["answer"].encode()}) for t in tasks]
    missing = [(tasks[0], {})]
    verdicts = suite.grade(backend, right + wrong + missing)
    assert [v.passed for v in verdicts] == [True] * 15 + [False] * 16
    assert verdicts[-1].reason == "no-output"


def test_reasoning_suite_is_fixed_by_seed():
    a = [t.instruction for t in get_suite("reasoning", size=2).tasks()]
    b = [t.instruction for t in get_suite("reasoning", size=2).tasks()]
    assert a == b
