"""Which agent is the best of a run: one rule, used by `archive best`, `status`, the report
and `compare`.

An agent that scored 1.0 on 3 tasks is not better than one that scored 0.6 on 50: its score
rests on too little. The rule: among the agents evaluated on the most tasks any agent of the
run reached (at most the full plan's, when the caller knows it), the highest score wins; a
tie goes to the agent with more tasks, then to the earliest. Agents evaluated on fewer tasks
are best only when no agent reached that depth (a run still in its first stage).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence


class Ranked(NamedTuple):
    id: str
    score: float
    tasks: int
    order: int
    """Creation order (the archive's seq): earlier wins a full tie."""


def full_depth(rows: Sequence[Ranked], full_tasks: int | None = None) -> int:
    """The task count an agent needs to compete for best: the deepest any agent reached,
    capped by the full plan's task count when known."""
    deepest = max((r.tasks for r in rows), default=0)
    return min(deepest, full_tasks) if full_tasks else deepest


def best_of(rows: Sequence[Ranked], full_tasks: int | None = None) -> Ranked | None:
    """The best agent by the rule above; None when no agent has a score."""
    scored = [r for r in rows if r.score is not None]
    if not scored:
        return None
    depth = full_depth(scored, full_tasks)
    contenders = [r for r in scored if r.tasks >= depth]
    return min(contenders, key=lambda r: (-r.score, -r.tasks, r.order))
