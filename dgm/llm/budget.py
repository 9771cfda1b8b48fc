"""Budgets per run, per child and per task (USD and tokens; 0 means no limit).

Checked before each call against what the ledger says was spent, so budgets hold across
processes and survive a restart. Calls in flight may overshoot a little; work already paid
for is kept.

What a child has spent is the ledger's answer, by the same rule as `dgm archive` and the
report: while it is being made (a making step), the parent's calls of that step's iteration
(`making_cost`); afterwards, its own calls plus its making (`child_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dgm.archive.schema import MAKING_STEPS

from dgm.config import BudgetConfig
from dgm.errors import BudgetExhausted
from dgm.llm.ledger import Ledger, SpendLike


@dataclass(frozen=True)
class Spent:
    usd: float = 0.0
    tokens: int = 0

    @classmethod
    def of(cls, spend: SpendLike) -> "Spent":
        return cls(float(spend.usd or 0.0), int(spend.prompt_tokens or 0) + int(spend.completion_tokens or 0))

@dataclass(frozen=True)
class Limit:
    scope: str
    usd: float = 0.0
    tokens: int = 0

    def refusal(self, spent: Spent) -> str | None:
        if self.usd and spent.usd >= self.usd:
            return f"the {self.scope} budget of ${self.usd:g} is spent (${spent.usd:.4f})"
        if self.tokens and spent.tokens >= self.tokens:
            return f"the {self.scope} budget of {self.tokens:,} tokens is spent ({spent.tokens:,})"
        return None

    @property
    def active(self) -> bool:
        return bool(self.usd or self.tokens)


class Budget:
    def __init__(self, config: BudgetConfig, ledger: Ledger):
        self.ledger = ledger
        self.run = Limit("run", config.usd_total, config.tokens_total)
        self.child = Limit("child", config.usd_per_child, config.tokens_per_child)
        self.task = Limit("task", config.usd_per_task, config.tokens_per_task)

    def check(self, *, agent_id: str | None, task_id: str | None, iteration: int | None = None, step: str | None = None) -> None:
        """Before a call by `agent_id` on `task_id` in the loop's `step` of `iteration`.

        Raises: BudgetExhausted naming the first spent budget (run, then child, then task).
        """
        if self.run.active:
            self._enforce(self.run, Spent.of(self.ledger.spend()))
        if self.child.active and (agent_id or task_id):
            self._enforce(self.child, self.child_spent(agent_id, iteration, step))
        if self.task.active and task_id:
            self._enforce(self.task, Spent.of(self.ledger.spend(agent_id=agent_id, task_id=task_id)))

    def _enforce(self, limit: Limit, spent: Spent) -> None:
        reason = limit.refusal(spent)
        if reason:
            raise BudgetExhausted(reason)

    def child_spent(self, agent_id: str | None, iteration: int | None = None, step: str | None = None) -> Spent:
        """What the child this call works for has spent: the making of the child at `iteration`
        when `step` makes one (`agent_id` is then its parent), else the agent's own cost. A call
        outside a run's agents (`dgm eval`: no agent id) has the whole ledger as its child."""
        if agent_id is None:
            return Spent.of(self.ledger.spend())
        if step in MAKING_STEPS and iteration is not None:
            return Spent.of(self.ledger.making_cost(agent_id, iteration))
        return Spent.of(self.ledger.child_cost(agent_id))
