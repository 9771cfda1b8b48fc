"""Small frozen records returned by the archive; never ORM objects.

Each record is built from a row mapping (column name -> value) by `from_row`, the one place
where column names meet field names, shared by the sqlite3 reader and the SQLModel store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, NamedTuple


def _json(text: str | None, default: Any) -> Any:
    return default if text in (None, "") else json.loads(text)


@dataclass(frozen=True)
class AgentRecord:
    id: str
    seq: int
    parent_id: str | None
    commit: str
    tree_hash: str
    created_at: str
    iteration: int
    status: str
    status_reason: str | None
    score: float | None
    origin: str
    meta: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "AgentRecord":
        return cls(
            id=row["id"],
            seq=row["seq"],
            parent_id=row["parent_id"],
            commit=row["commit_sha"],
            tree_hash=row["tree_hash"],
            created_at=row["created_at"],
            iteration=row["iteration"],
            status=row["status"],
            status_reason=row["status_reason"],
            score=row["score"],
            origin=row["origin"],
            meta=_json(row["meta"], {}),
        )

    @property
    def is_valid(self) -> bool:
        """Valid agents may become parents; invalid ones are kept for the record only."""
        return self.status != "invalid"


@dataclass(frozen=True)
class EvaluationRecord:
    id: int
    agent_id: str
    suite: str
    stage: int
    score: float | None
    n_tasks: int
    n_passed: int | None
    started_at: str
    finished_at: str | None
    reused_from: int | None
    tree_hash: str
    task_key: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "EvaluationRecord":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class TaskResultRecord:
    id: int
    evaluation_id: int
    task_id: str
    passed: bool
    duration: float
    exit_reason: str
    log_path: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "TaskResultRecord":
        values = {name: row[name] for name in cls.__dataclass_fields__}
        return cls(**{**values, "passed": bool(values["passed"])})


@dataclass(frozen=True)
class Spend:
    usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Spend":
        return cls(float(row["usd"] or 0.0), int(row["prompt_tokens"] or 0), int(row["completion_tokens"] or 0), int(row["calls"] or 0))


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any] = field(hash=False)
    agent_id: str | None
    state: str
    attempts: int
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Job":
        values = {name: row[name] for name in cls.__dataclass_fields__}
        return cls(**{**values, "payload": _json(values["payload"], {})})


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    agent_id: str
    verdict: str
    note: str
    created_at: str
    file: str | None = None
    """A line comment's file (a path in the agent's tree); None for a note on the whole agent."""
    line: int | None = None
    """A line comment's line number in the agent's version of `file`."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ReviewRecord":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__ if name in row.keys()})


class TaskCount(NamedTuple):
    """What an agent's score rests on: distinct tasks evaluated, and passed among them."""

    passed: int
    tasks: int


class NewTaskResult(NamedTuple):
    """One verdict to record (`Archive.add_task_results`)."""

    task_id: str
    passed: bool
    duration: float
    exit_reason: str
    log_path: str | Path | None = None


class CountDrift(NamedTuple):
    """An agent whose task count columns disagree with its task results."""

    agent_id: str
    recorded: TaskCount
    """What agents.tasks_passed / tasks_done say."""
    counted: TaskCount
    """What its task results say (the truth)."""


class ParentCandidate(NamedTuple):
    """An agent as parent selection sees it."""

    id: str
    parent_id: str | None
    score: float
    children: int


@dataclass(frozen=True)
class LLMCallRecord:
    """One row of the ledger: who asked (agent, task, purpose), for which iteration and step of
    the loop, what it cost, how it ended."""

    id: int
    run: str
    agent_id: str | None
    task_id: str | None
    purpose: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency: float
    outcome: str
    created_at: str
    iteration: int | None = None
    step: str | None = None
    """One of `archive.schema.STEPS`; a making step's call is recorded under the parent with
    the child's iteration."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "LLMCallRecord":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class EventRecord:
    id: int
    kind: str
    message: str
    agent_id: str | None
    data: Any = field(hash=False)
    created_at: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "EventRecord":
        values = {name: row[name] for name in cls.__dataclass_fields__}
        return cls(**{**values, "data": _json(values["data"], None)})


@dataclass(frozen=True)
class AgentSummary:
    """One line of `dgm archive ls`: an agent with its children count and LLM cost."""

    agent: AgentRecord
    children: int
    cost_usd: float


@dataclass(frozen=True)
class FileChange:
    path: str
    change: str
    """'added', 'deleted', 'modified' (or 'type-changed')."""
    added: int
    deleted: int
    """Lines added and deleted; 0 for binary files."""


@dataclass(frozen=True)
class Issue:
    kind: str
    """database-corrupt, missing-commit, missing-ref, wrong-ref, wrong-parent, wrong-tree,
    orphan-ref, orphan-commit, wrong-task-count."""
    message: str
    agent_id: str | None = None
    commit: str | None = None
    repaired: bool = False


@dataclass(frozen=True)
class VerifyReport:
    agents: int
    commits: int
    issues: tuple[Issue, ...] = ()
    skipped: tuple[str, ...] = ()
    """Checks this database cannot run, each with its reason (not issues: nothing is wrong)."""

    @property
    def ok(self) -> bool:
        """Consistent once every issue found was repaired (orphans are never repaired)."""
        return all(issue.repaired for issue in self.issues)
