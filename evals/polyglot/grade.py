"""Grading one Polyglot exercise: the graded tree, the driver run, the verdict on the host.

The graded tree is the exercise as shipped (tests, build files, headers, config: all from the
pristine copy) plus ONLY the solution files of the agent's output: a conftest.py, jest
config, build.rs, extra source or helper file the agent added never reaches the test run.
The driver (harness/polyglot_driver.py) runs the language's own test command in a fresh
sandbox; the host reads the runner's per-test report and passes the exercise only when the
set of tests in it equals the set the pristine test files define (each at least as often),
every one passed, and the test command exited 0.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

from dgm.evals.base import Verdict
from dgm.evals.polyglot.languages import LANGUAGE_SPECS, Language, ReportError, CaseResult
from dgm.evals.polyglot.layout import Exercise
from dgm.evals.regrade import check_not_lost, once_more_if_lost
from dgm.sandbox import TRUSTED_PYTHON, Backend, ExecResult, Limits, MachineFault, SandboxError

DRIVER = Path(__file__).parent.parent / "harness" / "polyglot_driver.py"
MAX_REPORT = 4 * 1024 * 1024
GRADE_LIMITS = Limits(wall_seconds=900, exec_timeout=600, memory_mb=3072, pids=512, cpus=2.0,
                      output_bytes=2 * MAX_REPORT, work_mb=256, tmp_mb=1024, fsize_mb=256)


@dataclass(frozen=True)
class PolyglotHidden:
    """Grader-only material of one task (never given to the agent's sandbox)."""

    exercise: Exercise
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    passed: bool
    reason: str
    detail: str


@lru_cache(maxsize=1)
def driver_source() -> str:
    return DRIVER.read_text()


def graded_tree(exercise: Exercise, output: Mapping[str, bytes]) -> dict[str, bytes]:
    """The exercise's pristine files plus the agent's versions of the solution files only."""
    files = exercise.pristine
    for name in exercise.solution:
        if name in output:
            files[name] = output[name]
    LANGUAGE_SPECS[exercise.language].prepare(exercise, files)
    return files


def fold_subtests(results: Sequence[CaseResult], expected: Sequence[str], separator: str) -> list[CaseResult]:
    """Name each reported sub-case after its expected parent case (see Language.subtest_separator)."""
    if not separator:
        return list(results)
    want = set(expected)
    out = []
    for r in results:
        parent = r.name.split(separator, 1)[0]
        out.append(CaseResult(parent, r.passed) if r.name not in want and parent in want else r)
    return out


def decide(expected: Sequence[str], results: Sequence[CaseResult], test_exit: int | None) -> Decision:
    """Pass only if every expected test ran and passed, nothing else ran, and the runner
    exited 0. `expected` comes from the pristine tests, never from the candidate's run."""
    if not results:
        return Decision(False, "failed", "no test results in the report")
    ran, want = Counter(r.name for r in results), Counter(expected)
    missing = sorted(set(want) - set(ran)) + sorted(n for n in want if n in ran and ran[n] < want[n])
    unexpected = sorted(set(ran) - set(want))
    failed = sorted({r.name for r in results if not r.passed})
    if missing or unexpected:
        return Decision(False, "failed", f"test set differs: missing {missing[:10]}, unexpected {unexpected[:10]}")
    if failed:
        return Decision(False, "failed", f"{len(failed)} of {len(set(want))} tests failed: {failed[:10]}")
    if test_exit != 0:
        return Decision(False, "failed", f"the test command exited {test_exit}")
    return Decision(True, "ok", f"{len(results)} tests passed")


def grade_exercise(backend: Backend, task_id: str, hidden: PolyglotHidden, output: Mapping[str, bytes]) -> Verdict:
    """Run one exercise's tests in a fresh sandbox and decide on the host."""
    exercise = hidden.exercise
    language: Language = LANGUAGE_SPECS[exercise.language]
    files = graded_tree(exercise, output)
    steps = language.steps(exercise, files)
    job = {"env": language.full_env(), "steps": [s.to_json() for s in steps], "report_name": language.report_name,
           "max_report": MAX_REPORT}
    budget = sum(s.timeout for s in steps) + 30

    def drive() -> ExecResult:
        with backend.start(GRADE_LIMITS, [], {"purpose": "grade"}) as session:
            session.put_files("/work", files)
            result = session.exec([TRUSTED_PYTHON, "-I", "-S", "-c", driver_source()], stdin=json.dumps(job).encode(),
                                  timeout=budget, cwd="/work")
        check_not_lost(result)
        return result

    try:
        result = once_more_if_lost(task_id, drive)
    except MachineFault:
        raise  # not the agent's doing: the stage runs again, never a failed verdict
    except SandboxError as exc:
        return Verdict(task_id, False, "grader-error", str(exc))
    if result.timed_out:
        return Verdict(task_id, False, "timeout", "grading timed out")
    if result.oom_killed:
        return Verdict(task_id, False, "oom", "grading ran out of memory")
    try:
        out = json.loads(result.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
        step_results, report = out["steps"], out["report"]
    except (ValueError, IndexError, KeyError, TypeError):
        tail = result.stderr.decode("utf-8", "replace")[-500:]
        return Verdict(task_id, False, "grader-error", f"no driver output (exit {result.exit_code}) {tail}")
    log = "\n".join(f"$ {s['argv0']} -> exit {s['exit']}{' (timed out)' if s['timed_out'] else ''}\n{s['log']}"
                    for s in step_results)[-20_000:]
    last = step_results[-1] if step_results else {}
    if len(step_results) < len(steps):
        return Verdict(task_id, False, "failed", f"build failed\n{log}")
    if last.get("timed_out"):
        return Verdict(task_id, False, "timeout", log)
    if not report:
        return Verdict(task_id, False, "failed", f"the test runner wrote no report\n{log}")
    try:
        results = language.parse(report)
    except ReportError as exc:
        return Verdict(task_id, False, "failed", f"{exc}\n{log}")
    results = fold_subtests(results, hidden.expected, language.subtest_separator)
    decision = decide(hidden.expected, results, last.get("exit"))
    return Verdict(task_id, decision.passed, decision.reason, f"{decision.detail}\n{log}")
