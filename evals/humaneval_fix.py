"""The humaneval-fix suite: SWE-style repository tasks made from HumanEval.

Each task is a tiny repository: `module.py` (the canonical solution with ONE injected bug,
chosen by seed), `test_module.py` (the docstring examples as visible tests) and a README.
The bugs that really fail the hidden tests were picked once, in a sandbox, by
`python -m evals.build_fix_tasks`, and ship as `data/humaneval_fix.json`, so the suite is
identical everywhere. Grading reads only `module.py` from the agent's output: the visible
tests are restored from pristine copies (the grader uses its own), the hidden HumanEval
check is added, and both run in a fresh sandbox.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

from dgm.evals.base import Task, Verdict
from dgm.evals.grading import GradeJob
from dgm.evals.humaneval import Problem, function_job, grade_file, problems, task_id_of
from dgm.sandbox import Backend

DATA = Path(__file__).parent / "data" / "humaneval_fix.json"
SUITE = "humaneval-fix"

INSTRUCTION = """\
The repository in your workspace has a bug: the function `{entry}` in `module.py` does not
always do what its docstring says. Find and fix the bug in `module.py`. `test_module.py`
holds a few examples (run it with `python test_module.py`); hidden tests check more cases.
Do not change the function's name or signature. Only `module.py` is graded.
"""

README = """\
# {entry}

A small module with one function, `{entry}`, in `module.py`. Its docstring says what it
must do. `test_module.py` checks the examples from the docstring:

    python test_module.py
"""


@dataclass(frozen=True)
class Example:
    call: str
    expected: str


def docstring_examples(prompt: str, entry_point: str) -> list[Example]:
    """The `>>> call` / expected-output pairs of the prompt that are plain Python literals
    and call the entry point."""
    lines = prompt.splitlines()
    out: list[Example] = []
    for i, line in enumerate(lines):
        text = line.strip()
        if not text.startswith(">>> ") or i + 1 >= len(lines):
            continue
        call, expected = text[4:].strip(), lines[i + 1].strip()
        if not expected or expected.startswith(">>>") or f"{entry_point}(" not in call:
            continue
        try:
            ast.parse(call, mode="eval")
            ast.literal_eval(expected)
        except (SyntaxError, ValueError):
            continue
        out.append(Example(call, expected))
    return out


def visible_test_file(entry_point: str, examples: Sequence[Example]) -> str:
    body = "\n".join(f"    assert {e.call} == {e.expected}, {e.call!r}" for e in examples) or "    pass"
    return (
        f'"""Examples from the docstring of {entry_point}."""\n\n'
        f"from module import {entry_point}\n\n\n"
        f"def test_examples():\n{body}\n\n\n"
        'if __name__ == "__main__":\n    test_examples()\n    print("ok")\n'
    )


def visible_check(examples: Sequence[Example]) -> str:
    """The visible examples as a hidden-style `check(candidate)` (run by the grader from its
    own pristine copy, whatever the agent did to test_module.py)."""
    body = "\n".join(f"    assert {e.call} == {e.expected}" for e in examples) or "    pass"
    return f"def check(candidate):\n{body}\n"


@dataclass(frozen=True)
class FixTask:
    problem: Problem
    module: str
    """The buggy module.py."""
    bug: str
    """What was injected (never shown to the agent)."""
    examples: tuple[Example, ...]


@lru_cache(maxsize=1)
def fix_tasks() -> tuple[FixTask, ...]:
    by_id = {p.task_id: p for p in problems()}
    data = json.loads(DATA.read_text())
    out = []
    for row in data["tasks"]:
        problem = by_id[row["problem"]]
        out.append(FixTask(problem, row["module"], row["bug"], tuple(docstring_examples(problem.prompt, problem.entry_point))))
    return tuple(out)


def fix_job(task_id: str, fix: FixTask, source: str) -> GradeJob:
    return function_job(task_id, fix.problem, source, filename="module.py",
                        tests=[fix.problem.test, visible_check(fix.examples)])


class HumanEvalFixSuite:
    name = SUITE

    def tasks(self) -> list[Task]:
        return [
            Task(
                id=task_id_of(fix.problem.task_id, SUITE),
                suite=self.name,
                instruction=INSTRUCTION.format(entry=fix.problem.entry_point),
                workspace={
                    "module.py": fix.module.encode(),
                    "test_module.py": visible_test_file(fix.problem.entry_point, fix.examples).encode(),
                    "README.md": README.format(entry=fix.problem.entry_point).encode(),
                },
                hidden=fix,
            )
            for fix in fix_tasks()
        ]

    def grade(self, backend: Backend, items: Sequence[tuple[Task, Mapping[str, bytes]]]) -> list[Verdict]:
        return grade_file(backend, items, "module.py", lambda task, source: fix_job(task.id, task.hidden, source))
