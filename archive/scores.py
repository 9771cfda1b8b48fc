"""An agent's score broken down per suite and, for polyglot, per language: the one breakdown
that `dgm eval`, `dgm archive show` and the report all show.

It is a pure function of per-task verdicts, (suite, task id, passed), so the same code serves
the results of one `dgm eval` (never stored) and the verdicts an archive holds
(`Queries.suite_scores`). The language is the middle part of a polyglot task id,
`polyglot/<language>/<slug>`, which is how the polyglot suite names its tasks; this module is
the only place that reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

from dgm.archive.stats import ScoreStat, score_stat


class TaskVerdict(NamedTuple):
    """One task's verdict as the breakdown needs it."""

    suite: str
    task_id: str
    passed: bool


@dataclass(frozen=True)
class PartScore:
    """Passed of tasks in one part of a suite (a polyglot language), with its interval."""

    name: str
    passed: int
    tasks: int

    @property
    def stat(self) -> ScoreStat:
        return score_stat(self.passed / self.tasks if self.tasks else None, self.passed, self.tasks)

    def as_dict(self) -> dict[str, Any]:
        return self.stat.as_dict()


@dataclass(frozen=True)
class SuiteScore:
    """Passed of tasks in one suite, and per language when its tasks are polyglot exercises."""

    suite: str
    passed: int
    tasks: int
    languages: tuple[PartScore, ...] = ()

    @property
    def stat(self) -> ScoreStat:
        return score_stat(self.passed / self.tasks if self.tasks else None, self.passed, self.tasks)

    def as_dict(self) -> dict[str, Any]:
        """{suite, score, passed, tasks, ci95, languages: {language: {score, passed, tasks, ci95}}}."""
        out: dict[str, Any] = {"suite": self.suite, **self.stat.as_dict()}
        if self.languages:
            out["languages"] = {part.name: part.as_dict() for part in self.languages}
        return out


def language_of(task_id: str) -> str | None:
    """'polyglot/go/bob' -> 'go'; None for a task that is not a polyglot exercise."""
    parts = task_id.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "polyglot" and parts[1] else None


def breakdown(verdicts: Iterable[TaskVerdict | tuple[str, str, bool]]) -> list[SuiteScore]:
    """Per suite (in the order suites first appear), passed of tasks, with polyglot languages
    (sorted by name). A task seen twice in a suite counts once, passed if any verdict passed
    (as `Queries.task_counts` counts a stage redone after a crash)."""
    seen: dict[str, dict[str, bool]] = {}
    for suite, task_id, passed in verdicts:
        tasks = seen.setdefault(suite, {})
        tasks[task_id] = tasks.get(task_id, False) or bool(passed)
    out = []
    for suite, tasks in seen.items():
        languages: dict[str, list[int]] = {}
        for task_id, passed in tasks.items():
            language = language_of(task_id)
            if language is not None:
                counts = languages.setdefault(language, [0, 0])
                counts[0] += passed
                counts[1] += 1
        parts = tuple(PartScore(name, *languages[name]) for name in sorted(languages))
        out.append(SuiteScore(suite, sum(tasks.values()), len(tasks), parts))
    return out


def breakdown_json(scores: Iterable[SuiteScore]) -> list[dict[str, Any]]:
    """What every --json writes for a breakdown."""
    return [s.as_dict() for s in scores]
