"""How much a score can be trusted: the number of tasks it rests on and a 95% interval.

A score is a pass rate over n tasks, so its uncertainty is that of a binomial proportion.
The Wilson score interval (Wilson, "Probable inference, the law of succession, and
statistical inference", JASA 1927) stays inside [0, 1] and is honest at small n and at rates
of 0 or 1, where the textbook normal interval collapses to a point.
"""

from __future__ import annotations

import math
from typing import NamedTuple

Z95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""


class Interval(NamedTuple):
    low: float
    high: float


class ScoreStat(NamedTuple):
    """A score with what it rests on: shown by every view, written by every --json."""

    score: float | None
    passed: int
    tasks: int
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, float | int | list[float | None] | None]:
        return {"score": self.score, "passed": self.passed, "tasks": self.tasks, "ci95": [self.low, self.high] if self.tasks else None}

    def text(self) -> str:
        """'0.600 [0.46, 0.72] n=50', or '-' when there is no score."""
        if self.score is None:
            return "-"
        if not self.tasks:
            return f"{self.score:.3f} n=0"
        return f"{self.score:.3f} [{self.low:.2f}, {self.high:.2f}] n={self.tasks}"


def wilson_interval(passed: int, tasks: int, z: float = Z95) -> Interval:
    """The Wilson interval of `passed` successes in `tasks` trials; (0, 1) when tasks is 0.

    Raises: ValueError when passed is negative or above tasks.
    """
    if tasks < 0 or passed < 0 or passed > tasks:
        raise ValueError(f"need 0 <= passed <= tasks, got {passed}/{tasks}")
    if tasks == 0:
        return Interval(0.0, 1.0)
    p = passed / tasks
    z2 = z * z
    centre = (p + z2 / (2 * tasks)) / (1 + z2 / tasks)
    half = z * math.sqrt(p * (1 - p) / tasks + z2 / (4 * tasks * tasks)) / (1 + z2 / tasks)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def score_stat(score: float | None, passed: int, tasks: int) -> ScoreStat:
    """The score (as the archive holds it) with its task count and Wilson interval."""
    if tasks <= 0:
        return ScoreStat(score, 0, 0, None, None)
    low, high = wilson_interval(passed, tasks)
    return ScoreStat(score, passed, tasks, low, high)
