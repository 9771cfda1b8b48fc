"""The ledger contract: where every LLM call is recorded and spend is read back.

`archive.Archive` implements it; the gateway and the budgets need nothing more.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

PURPOSES = ("diagnose", "self-modify", "solve")
OUTCOMES = ("ok", "error", "refused", "budget")


class SpendLike(Protocol):
    usd: float
    prompt_tokens: int
    completion_tokens: int


@runtime_checkable
class Ledger(Protocol):
    def record_llm_call(
        self, *, agent_id: str | None, task_id: str | None, purpose: str, model: str, prompt_tokens: int,
        completion_tokens: int, cost_usd: float, latency: float, outcome: str,
    ) -> None:
        """One row per call, whatever its outcome (ok, error, refused, budget)."""
        ...

    def spend(self, agent_id: str | None = None, task_id: str | None = None) -> SpendLike:
        """Total spend so far, optionally for one agent and/or one task."""
        ...
