"""The gateway's host-side contract: what the loop needs of the LLM gateway.

`dgm.llm.Gateway` implements it in the head's process; an executor that runs sandboxes on
other machines reaches the same gateway through it (tokens, budgets and the ledger stay on
the head). Imported for types only.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dgm.evals import LLMAccess
    from dgm.sandbox import Mount

    from dgm.llm.budget import Budget
    from dgm.llm.models import Completion


class HostGateway(Protocol):
    budget: Budget
    """The run's budgets, checked against the ledger (`check` raises BudgetExhausted)."""

    def grant(
        self, *, agent_id: str | None, task_id: str | None, purpose: str, iteration: int | None = None, step: str | None = None
    ) -> AbstractContextManager[list[Mount]]:
        """Mounts exposing the gateway socket and a fresh token to one sandbox, whose calls are
        recorded for `agent_id` in `step` of `iteration`; the token dies with the context.

        Raises: GatewayError (not started, unknown purpose or step)."""
        ...

    def for_iteration(self, iteration: int) -> LLMAccess:
        """The gateway as `evals.LLMAccess` for the evaluation of the child of `iteration`."""
        ...

    def complete_for_host(
        self, messages: list[dict], agent_id: str | None = None, purpose: str = "diagnose", *,
        task_id: str | None = None, iteration: int | None = None, step: str | None = None,
        tools: list[dict] | None = None, max_tokens: int | None = None, temperature: float | None = None,
    ) -> Completion:
        """A host-side call (the diagnosis) under the same budgets and ledger as sandbox calls.

        Raises: ModelError (after retries), BudgetExhausted."""
        ...

    def host_prompt_chars(self) -> int | None:
        """How long a host prompt may be, in characters, for the host model's context window;
        None when no prompt of ours can exceed it."""
        ...
