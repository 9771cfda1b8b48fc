"""The ledger contract: where every LLM call is recorded and spend is read back.

`archive.Archive` implements it; the gateway and the budgets need nothing more. What a child
costs is the ledger's answer (`child_cost`, `making_cost`), so budgets, `dgm archive` and the
report count it by one rule (`archive.queries.child_calls`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class SpendLike(Protocol):
    @property
    def usd(self) -> float: ...

    @property
    def prompt_tokens(self) -> int: ...

    @property
    def completion_tokens(self) -> int: ...


@runtime_checkable
class Ledger(Protocol):
    def record_llm_call(
        self, *, agent_id: str | None, task_id: str | None, purpose: str, model: str, prompt_tokens: int,
        completion_tokens: int, cost_usd: float, latency: float, outcome: str,
        iteration: int | None = None, step: str | None = None,
    ) -> None:
        """One row per call, whatever its outcome (ok, error, refused, budget), with the loop's
        iteration and step (a making step's call is under the parent, with the child's iteration)."""
        ...

    def spend(self, agent_id: str | None = None, task_id: str | None = None) -> SpendLike:
        """Total spend so far, optionally for one agent and/or one task."""
        ...

    def child_cost(self, agent_id: str) -> SpendLike:
        """What an agent has cost: its own calls and its making (every call under an id that
        is not an agent's)."""
        ...

    def making_cost(self, parent_id: str, iteration: int) -> SpendLike:
        """What making the child of `parent_id` at `iteration` has cost so far."""
        ...
