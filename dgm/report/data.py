"""A snapshot of a run for the report: plain records read once from the archive.

The plots and the HTML page are pure functions of this snapshot, so they are tested and
benchmarked without git, and the archive is read in a handful of queries even for thousands
of agents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dgm.report.ledger import CallPoint
from dgm.review.gate import latest_verdicts

if TYPE_CHECKING:
    from dgm.archive.queries import Queries
    from dgm.archive.scores import SuiteScore
    from dgm.archive.stats import ScoreStat


@dataclass(frozen=True)
class AgentPoint:
    id: str
    parent_id: str | None
    iteration: int
    status: str
    score: float | None
    created_at: str
    verdict: str | None = None
    """The latest approve/reject verdict, None when never judged."""
    cost: float = 0.0
    """What the agent cost: its own calls and its making (`archive.queries.child_calls`)."""
    passed: int = 0
    tasks: int = 0
    """Distinct tasks the score rests on (and passed among them)."""

    @property
    def stat(self) -> "ScoreStat":
        from dgm.archive.stats import score_stat

        return score_stat(self.score, self.passed, self.tasks)

    @property
    def scored(self) -> bool:
        return self.status == "evaluated" and self.score is not None


@dataclass(frozen=True)
class RunFacts:
    """What the report says about the run itself: its model, whether it was a dry run, its config."""

    model: str
    dry_run: bool
    config_text: str


DRY_RUN_NOTE = "Dry run: a scripted model answered every call; agents did not improve and all prices are made up."


@dataclass
class ReportData:
    run_name: str
    agents: list[AgentPoint]
    calls: list[CallPoint] = field(default_factory=list)
    run: RunFacts | None = None
    """The run's model and config, when the report knows its run directory."""
    suites: dict[str, list["SuiteScore"]] = field(default_factory=dict)
    """Score per suite and polyglot language of each agent on the best path (`Queries.suite_scores`)."""

    @property
    def dry_run(self) -> bool:
        return bool(self.run and self.run.dry_run)

    def by_id(self) -> dict[str, AgentPoint]:
        return {a.id: a for a in self.agents}

    def best(self) -> AgentPoint | None:
        """The best agent by the archive's rule (`archive.best`): the highest score among the
        agents evaluated on the most tasks; ties go to more tasks, then the earliest."""
        from dgm.archive.best import Ranked, best_of

        found = best_of([Ranked(a.id, a.score, a.tasks, i) for i, a in enumerate(self.agents) if a.scored and a.score is not None])
        return self.by_id()[found.id] if found else None

    def best_path(self) -> list[str]:
        """Ids from the seed to the best agent."""
        best, index = self.best(), self.by_id()
        path: list[str] = []
        node = best.id if best else None
        while node is not None and node in index and node not in path:
            path.append(node)
            node = index[node].parent_id
        return path[::-1]

    def top(self, n: int) -> list[AgentPoint]:
        scored = sorted((a for a in self.agents if a.scored), key=lambda a: -(a.score or 0.0))
        return scored[:n]

    def total_cost(self) -> float:
        return float(sum(c.cost for c in self.calls))


@dataclass(frozen=True)
class ScoreCurve:
    iterations: np.ndarray
    best: np.ndarray
    median: np.ndarray
    """NaN before any agent was scored."""


def score_curve(agents: list[AgentPoint]) -> ScoreCurve:
    """Best and median score of the archive as it stood after each iteration: every scored
    agent created in that iteration or before counts (invalid and unscored ones do not)."""
    if not agents:
        empty = np.zeros(0)
        return ScoreCurve(empty.astype(int), empty, empty)
    last = max(a.iteration for a in agents)
    iterations = np.arange(0, last + 1)
    scored = sorted((a.iteration, a.score) for a in agents if a.scored and a.score is not None)
    best, median = np.full(len(iterations), np.nan), np.full(len(iterations), np.nan)
    values: list[float] = []
    j = 0
    for k, it in enumerate(iterations):
        while j < len(scored) and scored[j][0] <= it:
            values.append(float(scored[j][1]))
            j += 1
        if values:
            best[k], median[k] = max(values), float(np.median(values))
    return ScoreCurve(iterations, best, median)


def collect(archive: Queries, run_name: str = "") -> ReportData:
    """Read the snapshot from an open archive (agents, reviews, ledger)."""
    from dgm.report.ledger import ledger_calls

    calls = ledger_calls(archive)
    cost = archive.costs()
    verdicts = latest_verdicts(archive.reviews())
    counts = archive.task_counts()
    agents = [
        AgentPoint(a.id, a.parent_id, a.iteration, a.status, a.score, a.created_at, verdicts.get(a.id), cost.get(a.id, 0.0),
                   *counts.get(a.id, (0, 0)))
        for a in sorted(archive.agents(), key=lambda a: a.seq)
    ]
    data = ReportData(run_name, agents, calls)
    data.suites = archive.suite_scores(data.best_path())
    return data
