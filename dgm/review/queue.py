"""What waits for review, and everything a reviewer needs about one child, read once.

A child waits for review when it was evaluated (not invalid) and has no approve/reject verdict
yet; notes alone leave it waiting. The oldest comes first, so review follows the run's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dgm.review.flags import Flag, FlagRules, flags_for_agent
from dgm.review.gate import APPROVE, NOTE, REJECT, latest_verdicts

if TYPE_CHECKING:
    from dgm.archive.queries import Queries

VERDICTS = (APPROVE, REJECT, NOTE)


@dataclass(frozen=True)
class ScoreRow:
    """One suite and stage of the child's evaluation beside its parent's."""

    suite: str
    stage: int
    child: float | None
    parent: float | None
    child_tasks: int = 0
    child_passed: int | None = None
    parent_tasks: int = 0
    parent_passed: int | None = None

    @property
    def delta(self) -> float | None:
        return None if self.child is None or self.parent is None else self.child - self.parent


@dataclass
class ReviewPacket:
    agent: Any
    """The child's AgentRecord."""
    parent: Any | None
    diff: str
    flags: list[Flag]
    scores: list[ScoreRow]
    spend: Any
    """archive Spend of the child (its self-modification and evaluation calls)."""
    reviews: list[Any] = field(default_factory=list)
    stat: Any = None
    """archive.stats.ScoreStat of the child: its score, the tasks it rests on, its 95% interval."""
    files: list[Any] = field(default_factory=list)
    """archive FileChange per changed file (path, kind, added, removed), in diff order."""
    same_tree: list[tuple[str, str]] = field(default_factory=list)
    """(agent id, verdict) of already judged agents whose code is identical to this one's."""
    parent_verdict: str | None = None

    @property
    def verdict(self) -> str | None:
        return latest_verdicts(self.reviews).get(self.agent.id)

    @property
    def line_notes(self) -> dict[tuple[str, int], list[Any]]:
        """Line comments by (file, line)."""
        notes: dict[tuple[str, int], list[Any]] = {}
        for review in self.reviews:
            if getattr(review, "file", None) and getattr(review, "line", None):
                notes.setdefault((review.file, review.line), []).append(review)
        return notes

    @property
    def diagnosis(self) -> str:
        """The loop's diagnosis fields (dgm.loop.diagnose.Diagnosis), or a 'diagnosis' entry."""
        meta = self.agent.meta
        parts = [
            f"{label}: {_text(meta[key])}"
            for key, label in DIAGNOSIS_FIELDS
            if meta.get(key)
        ]
        return "\n".join(parts) or _text(meta.get("diagnosis"))

    @property
    def problem_statement(self) -> str:
        return _text(self.agent.meta.get("problem_statement"))


DIAGNOSIS_FIELDS = (
    ("log_summary", "what went wrong"),
    ("improvement_proposal", "proposal"),
    ("implementation_suggestion", "how"),
)


def _text(value: Any) -> str:
    """Diagnoses may be stored as text or as a structured proposal (a dict); show either."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(f"{key}: {_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        return "\n".join(f"- {_text(item)}" for item in value)
    return str(value)


def awaiting_review(archive: Queries, queue_filter: "QueueFilter | None" = None) -> list[Any]:
    """Evaluated children with no approve/reject verdict yet, oldest first, narrowed by a filter."""
    judged = set(latest_verdicts(archive.reviews()))
    waiting = [a for a in archive.agents(status="evaluated") if a.parent_id is not None and a.id not in judged]
    waiting.sort(key=lambda a: (a.created_at, a.seq))
    return queue_filter.apply(archive, waiting) if queue_filter else waiting


@dataclass(frozen=True)
class QueueFilter:
    """Which waiting children to show; every set field must hold."""

    flag: str | None = None
    """Only children raising a flag of this kind (or of this severity: high, medium, low)."""
    min_change: float | None = None
    """Only children whose score minus their parent's is at least this."""
    max_change: float | None = None
    parent: str | None = None
    iteration: int | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.flag, self.min_change, self.max_change, self.parent, self.iteration))

    def apply(self, archive: Queries, agents: list[Any]) -> list[Any]:
        scores = {a.id: a.score for a in archive.agents()} if self.min_change is not None or self.max_change is not None else {}
        kept = []
        for agent in agents:
            if self.parent is not None and agent.parent_id != self.parent:
                continue
            if self.iteration is not None and agent.iteration != self.iteration:
                continue
            if scores:
                change = score_change(agent.score, scores.get(agent.parent_id))
                if change is None or (self.min_change is not None and change < self.min_change) or (
                    self.max_change is not None and change > self.max_change
                ):
                    continue
            if self.flag is not None and not any(self.flag in (f.kind, f.severity) for f in flags_for_agent(archive, agent)):
                continue
            kept.append(agent)
        return kept


def score_change(child: float | None, parent: float | None) -> float | None:
    return None if child is None or parent is None else child - parent


def _latest_by_stage(evaluations: list[Any]) -> dict[tuple[str, int], Any]:
    latest: dict[tuple[str, int], Any] = {}
    for ev in sorted(evaluations, key=lambda e: e.id):
        latest[(ev.suite, ev.stage)] = ev
    return latest


def compare_scores(child_evals: list[Any], parent_evals: list[Any]) -> list[ScoreRow]:
    """Per suite and stage, the child's latest evaluation beside the parent's."""
    child, parent = _latest_by_stage(child_evals), _latest_by_stage(parent_evals)
    rows = []
    for key in sorted(set(child) | set(parent)):
        c, p = child.get(key), parent.get(key)
        rows.append(
            ScoreRow(
                key[0], key[1],
                c.score if c else None, p.score if p else None,
                c.n_tasks if c else 0, c.n_passed if c else None,
                p.n_tasks if p else 0, p.n_passed if p else None,
            )
        )
    return rows


def load_packet(archive: Queries, agent_id: str, rules: FlagRules = FlagRules()) -> ReviewPacket:
    """Everything shown when reviewing one agent.

    Raises: archive.errors.UnknownAgentError for an unknown id.
    """
    agent = archive.get(agent_id)
    parent = archive.get(agent.parent_id) if agent.parent_id else None
    diff = archive.diff(agent.id)
    scores = compare_scores(archive.evaluations(agent.id), archive.evaluations(parent.id) if parent else [])
    verdicts = latest_verdicts(archive.reviews())
    twins = [a.id for a in archive.agents() if a.tree_hash == agent.tree_hash and a.id != agent.id and a.id in verdicts]
    return ReviewPacket(
        agent=agent,
        parent=parent,
        diff=diff,
        flags=flags_for_agent(archive, agent, rules, diff),
        scores=scores,
        spend=archive.child_cost(agent.id),
        reviews=list(archive.reviews(agent.id)),
        stat=archive.score_stat(agent),
        files=list(archive.changed_files(agent.id)),
        same_tree=[(twin, verdicts[twin]) for twin in twins],
        parent_verdict=verdicts.get(agent.parent_id) if agent.parent_id else None,
    )
