"""The Polyglot suites: `polyglot:PATH` (six languages) and `polyglot-<lang>:PATH` (one).

PATH is a checkout of the Polyglot benchmark (see layout.py). The agent gets the
instructions and the exercise's files in /work, without the tests and the example solution
(`polyglot+tests:PATH`, or `show_tests=True`, leaves the tests in, as some published setups
do). Grading (grade.py) runs each language's own test runner in the polyglot image.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Mapping, Sequence

from dgm.evals.base import Task, TaskFormatError, Verdict
from dgm.evals.polyglot.grade import PolyglotHidden, grade_exercise
from dgm.evals.polyglot.languages import LANGUAGE_SPECS
from dgm.evals.polyglot.layout import LANGUAGES, Exercise, read_checkout
from dgm.sandbox import POLYGLOT_IMAGE, Backend

INSTRUCTION = """\
# Exercise: {slug} ({language})

{instructions}
## What to do
Edit {solution} in your workspace (the current directory) so that the exercise is solved.
Only {these} graded: every other file is restored from the exercise before grading, and
files you add are ignored. Keep the names of existing functions, classes and types: the
tests use them. Use only the language's standard library.

{tests}"""

HIDDEN_TESTS = "The tests are hidden; they check the behaviour the instructions describe.\n"
SHOWN_TESTS = "The tests are in {files} (run with {hint}); the grader runs its own copy of them.\n"


def parse_languages(variant: str) -> tuple[tuple[str, ...], bool]:
    """'polyglot', 'polyglot-go', 'polyglot+tests', 'polyglot-go+tests' -> (languages, show_tests).

    Raises: TaskFormatError for an unknown language or modifier.
    """
    base, plus, modifier = variant.partition("+")
    if plus and modifier != "tests":
        raise TaskFormatError(f"unknown suite modifier '+{modifier}' (only '+tests')")
    if base == "polyglot":
        return LANGUAGES, bool(plus)
    language = base.removeprefix("polyglot-")
    if language not in LANGUAGES:
        raise TaskFormatError(f"unknown polyglot language '{language}' (known: {', '.join(LANGUAGES)})")
    return (language,), bool(plus)


def make_task(suite: str, exercise: Exercise, show_tests: bool) -> Task:
    language = LANGUAGE_SPECS[exercise.language]
    hidden_files = set(exercise.example) | (set() if show_tests else set(exercise.tests))
    workspace = {p: d for p, d in exercise.files.items() if p not in hidden_files}
    solution = ", ".join(f"`{s}`" for s in exercise.solution)
    tests = (SHOWN_TESTS.format(files=", ".join(f"`{t}`" for t in exercise.tests), hint=language.run_hint)
             if show_tests else HIDDEN_TESTS)
    instruction = INSTRUCTION.format(slug=exercise.slug, language=exercise.language, instructions=exercise.instructions,
                                     solution=solution, these="these files are" if len(exercise.solution) > 1
                                     else "this file is", tests=tests)
    hidden = PolyglotHidden(exercise, tuple(language.expected({t: exercise.files[t] for t in exercise.tests})))
    return Task(f"polyglot/{exercise.language}/{exercise.slug}", suite, instruction, workspace, hidden, timeout=600.0)


class PolyglotSuite:
    image = POLYGLOT_IMAGE
    """The sandbox image this suite's agents and graders need (built by `dgm sandbox build --image polyglot`)."""

    def __init__(self, root: Path, variant: str = "polyglot", show_tests: bool = False, workers: int = 2) -> None:
        languages, shown = parse_languages(variant)
        self.name, self.workers = variant.partition("+")[0], workers
        self.exercises = read_checkout(Path(root), languages)
        self._tasks = []
        for folder, exercise in self.exercises:
            task = make_task(self.name, exercise, show_tests or shown)
            if not task.hidden.expected:
                raise TaskFormatError(f"{folder}: no test names found in {', '.join(exercise.tests)}")
            self._tasks.append(task)

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def grade(self, backend: Backend, items: Sequence[tuple[Task, Mapping[str, bytes]]]) -> list[Verdict]:
        with ThreadPoolExecutor(max(1, self.workers)) as pool:
            return list(pool.map(lambda item: grade_exercise(backend, item[0].id, item[0].hidden, item[1]), items))


__all__ = ["POLYGLOT_IMAGE", "PolyglotSuite", "parse_languages"]
