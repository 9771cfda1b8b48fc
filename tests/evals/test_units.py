"""Pure parts: stage plans, task order, mutations, examples, custom format, host-side verdicts."""

import json

import pytest

from dgm.evals import EvalError, Stage, StagePlan, TaskFormatError, UnknownSuiteError, get_suite, parse_stage_plan, task_ids_key
from dgm.evals.custom import CustomSpec, graded_files, load_task
from dgm.evals.evaluate import stage_order, stage_slices
from dgm.evals.grading import GradeJob, verdict_from
from dgm.evals.humaneval import problems
from dgm.evals.humaneval_fix import docstring_examples
from dgm.evals.mutations import mutation_sites, pick_mutations
from dgm.sandbox import ExecResult


def test_stage_plan_parsing():
    assert parse_stage_plan("10:0.4,50", seed=3) == StagePlan((Stage(10, 0.4), Stage(50)), 3)
    for bad in ("", "x", "10:2", "0"):
        with pytest.raises(EvalError):
            parse_stage_plan(bad)


def test_a_task_set_key_ignores_order_and_duplicates():
    key = task_ids_key(["HumanEval/1", "HumanEval/0", "HumanEval/0"])
    assert key == task_ids_key(["HumanEval/0", "HumanEval/1"]) and key.startswith("n2-")
    assert key != task_ids_key(["HumanEval/0", "HumanEval/2"])


def test_stages_are_cumulative_slices_of_a_seed_fixed_order():
    plan = StagePlan((Stage(10, 0.4), Stage(50), Stage(500)))
    assert stage_slices(164, plan) == [(0, 10), (10, 60), (60, 164)]
    assert stage_slices(164, plan, limit=20) == [(0, 10), (10, 20)]
    tasks = get_suite("humaneval").tasks()
    assert [t.id for t in stage_order(tasks, 0, "humaneval")] == [t.id for t in stage_order(list(reversed(tasks)), 0, "humaneval")]
    assert stage_order(tasks, 0, "humaneval") != stage_order(tasks, 1, "humaneval")


def test_mutations_are_deterministic_single_line_bugs():
    p = problems()[0]
    source = p.prompt + p.canonical_solution
    first = pick_mutations(source, p.entry_point, "s", 3)
    assert first == pick_mutations(source, p.entry_point, "s", 3) and len(first) == 3
    for m in mutation_sites(source, p.entry_point):
        mutated = m.apply(source)
        assert mutated != source and len(mutated.splitlines()) == len(source.splitlines())


def test_docstring_examples_become_visible_tests():
    p = next(p for p in problems() if p.task_id == "HumanEval/0")
    examples = docstring_examples(p.prompt, p.entry_point)
    assert [e.expected for e in examples] == ["False", "True"]


def test_unknown_suites_and_bad_custom_folders(tmp_path):
    with pytest.raises(UnknownSuiteError):
        get_suite("nope")
    with pytest.raises(UnknownSuiteError):
        get_suite("custom")
    (tmp_path / "t").mkdir()
    with pytest.raises(TaskFormatError):
        load_task(tmp_path / "t", "s")
    (tmp_path / "t" / "instruction.md").write_text("do it")
    (tmp_path / "t" / "task.toml").write_text("tset = 'typo'\n")
    with pytest.raises(TaskFormatError, match="unknown key"):
        load_task(tmp_path / "t", "s")


def test_graded_files_drop_hooks_and_restore_protected_tests():
    spec = CustomSpec("t", 1, 1, ("test_*.py",), {"hidden_test.py": b"H"}, {"test_a.py": b"pristine"})
    out = graded_files({"a.py": b"x", "test_a.py": b"gutted", "conftest.py": b"hook", "x/evil.pth": b"p", "test_new.py": b"n"}, spec)
    assert out == {"a.py": b"x", "test_a.py": b"pristine", "hidden_test.py": b"H"}


def test_host_rejects_unsigned_or_forged_verdicts():
    job = GradeJob("T", "humaneval", "he_child.py", {})
    body = json.dumps({"item": "T", "passed": True, "reason": "ok", "detail": ""}, sort_keys=True)
    forged = [
        f"VERDICT 00 {body}\n",
        f"KEY 2\nVERDICT {'0' * 64} {body}\n",
        f"KEY 5\nKEY 7\nVERDICT {'0' * 64} {body}\n",
        "all tests passed\n",
    ]
    for out in forged:
        verdict = verdict_from(job, 12345, ExecResult(0, out.encode(), b""))
        assert not verdict.passed and verdict.reason == "grader-error"
    assert verdict_from(job, 1, ExecResult(None, b"", b"", timed_out=True)).reason == "timeout"
