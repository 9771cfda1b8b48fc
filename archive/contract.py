"""The store's contract: what the loop, the evals and the budgets need of a run's archive.

`RunStore` is the whole of it, the loop's view. Its narrower views are `RunView` (the reads,
which the light read path provides too), `EvalArchive` (what
`evals.evaluate` records and reuses) and `Ledger` (what the LLM gateway and the budgets
record and read back). `dgm.archive.Archive` implements all three, whatever database holds
the tables. Other packages import this module for types only (under TYPE_CHECKING), so the
rule that evals never imports the archive holds where code runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol

if TYPE_CHECKING:
    from dgm.archive.records import (
        AgentRecord,
        EvaluationRecord,
        EventRecord,
        Job,
        LLMCallRecord,
        ParentCandidate,
        ReviewRecord,
        Spend,
        TaskCount,
        TaskResultRecord,
    )
    from dgm.archive.stats import ScoreStat


class EvalArchive(Protocol):
    """What an evaluation writes and reads: evaluations, their task results, reuse by tree."""

    def start_evaluation(
        self, agent_id: str, suite: str, stage: int, n_tasks: int, reused_from: int | None = None, task_key: str | None = None
    ) -> int: ...

    def finish_evaluation(self, evaluation_id: int, score: float, n_passed: int) -> None: ...

    def add_task_result(
        self, evaluation_id: int, task_id: str, passed: bool, duration: float, exit_reason: str, log_path: str | Path | None = None
    ) -> None: ...

    def find_evaluation_by_tree(self, tree_hash: str, suite: str, task_ids_key: str) -> EvaluationRecord | None:
        """A finished evaluation of an identical tree on the same suite and task set, or None."""
        ...

    def task_results(self, evaluation_id: int) -> list[TaskResultRecord]: ...

    def tree_hash(self, agent_id: str) -> str: ...

    def logs_dir(self, agent_id: str) -> Path: ...


class Ledger(Protocol):
    """Where every LLM call is recorded and spend is read back. What a child costs is the
    ledger's answer (`child_cost`, `making_cost`), so budgets, `dgm archive` and the report
    count it by one rule (`archive.queries.child_calls`)."""

    def record_llm_call(
        self, *, agent_id: str | None, task_id: str | None, purpose: str, model: str, prompt_tokens: int,
        completion_tokens: int, cost_usd: float, latency: float, outcome: str,
        iteration: int | None = None, step: str | None = None,
    ) -> None:
        """One row per call, whatever its outcome (ok, error, refused, budget), with the loop's
        iteration and step (a making step's call is under the parent, with the child's iteration)."""
        ...

    def spend(self, agent_id: str | None = None, task_id: str | None = None) -> Spend:
        """Total spend so far, optionally for one agent and/or one task."""
        ...

    def child_cost(self, agent_id: str) -> Spend:
        """What an agent has cost: its own calls and its making."""
        ...

    def making_cost(self, parent_id: str, iteration: int) -> Spend:
        """What making the child of `parent_id` at `iteration` has cost so far."""
        ...


class RunView(Protocol):
    """What the loop and the live views read: the read path (`dgm.archive.Reader`) and the
    store (`dgm.archive.Archive`) both provide it.

    Raises (across methods): UnknownAgentError, ArchiveConsistencyError (a commit missing from
    git), ArchiveError; callers let them propagate.
    """

    def get(self, agent_id: str) -> AgentRecord: ...

    def agents(self, status: str | None = None) -> list[AgentRecord]: ...

    def parent_candidates(self) -> list[ParentCandidate]: ...

    def children_counts(self) -> dict[str, int]: ...

    def best(self) -> AgentRecord | None: ...

    def task_counts(self) -> dict[str, TaskCount]: ...

    def score_stat(self, agent: AgentRecord) -> ScoreStat: ...

    def read_tree(self, agent_id: str) -> dict[str, bytes]: ...

    def export(self, agent_id: str, dest: Path) -> None: ...

    def evaluations(self, agent_id: str) -> list[EvaluationRecord]: ...

    def task_results(self, evaluation_id: int) -> list[TaskResultRecord]: ...

    def llm_calls(self, agent_id: str | None = None, purpose: str | None = None) -> list[LLMCallRecord]: ...

    def spend(self, agent_id: str | None = None, task_id: str | None = None) -> Spend: ...

    def jobs(self, state: str | None = None) -> list[Job]: ...

    def reviews(self, agent_id: str | None = None) -> list[ReviewRecord]: ...

    def events(self, limit: int = 50, since_id: int | None = None) -> list[EventRecord]: ...


class RunStore(RunView, EvalArchive, Ledger, Protocol):
    """Everything the loop reads and writes: RunView's reads, evaluations, the ledger, the
    jobs table (the truth about what is in flight), reviews and events."""

    def add_child(
        self, parent_id: str, files: Mapping[str, bytes], *, iteration: int, origin: str = "self-modify",
        status: str = "pending", status_reason: str | None = None, meta: dict | None = None,
    ) -> AgentRecord: ...

    def set_status(self, agent_id: str, status: str, reason: str | None = None) -> None: ...

    def set_score(self, agent_id: str, score: float | None) -> None: ...

    # the jobs table
    def enqueue_job(self, kind: str, payload: dict, agent_id: str | None = None) -> int: ...

    def claim_job(self, kinds: list[str] | tuple[str, ...] | None = None) -> Job | None:
        """Atomically take the oldest queued job (of these kinds); safe across processes."""
        ...

    def finish_job(self, job_id: int, ok: bool, error: str | None = None) -> None: ...

    def requeue_running(self) -> int: ...

    # events
    def log_event(self, kind: str, message: str, agent_id: str | None = None, data: Any = None) -> None: ...
