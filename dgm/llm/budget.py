"""Budgets per run, per child and per task (USD and tokens; 0 means no limit).

Checked before each call against what the ledger says was spent, so budgets hold across
processes and survive a restart. Calls in flight may overshoot a little; work already paid
for is kept.

What a "child" is, in ledger terms (the loop's task ids):
- the making of child N is the parent's tasks 'diagnose/N', 'self-modify/N' and 'smoke/N';
- a child's evaluation is every call made under its own agent id. When the ledger can also
  say who an agent's parent and iteration are (`get(agent_id)`, as the Archive can), the
  making of that child counts towards the same budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dgm.config import BudgetConfig
from dgm.errors import BudgetExhausted
from dgm.llm.ledger import Ledger

MAKING_TASK = re.compile(r"^(?:diagnose|self-modify|smoke)/(\d+)$")


@dataclass(frozen=True)
class Spent:
    usd: float = 0.0
    tokens: int = 0

    def __add__(self, other: "Spent") -> "Spent":
        return Spent(self.usd + other.usd, self.tokens + other.tokens)


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

    def check(self, *, agent_id: str | None, task_id: str | None) -> None:
        """Raises: BudgetExhausted naming the first spent budget (run, then child, then task)."""
        if self.run.active:
            self._enforce(self.run, self._spent())
        if self.child.active and (agent_id or task_id):
            self._enforce(self.child, self.child_spent(agent_id, task_id))
        if self.task.active and task_id:
            self._enforce(self.task, self._spent(agent_id, task_id))

    def _enforce(self, limit: Limit, spent: Spent) -> None:
        reason = limit.refusal(spent)
        if reason:
            raise BudgetExhausted(reason)

    def _spent(self, agent_id: str | None = None, task_id: str | None = None) -> Spent:
        s = self.ledger.spend(agent_id=agent_id, task_id=task_id)
        return Spent(float(s.usd or 0.0), int(s.prompt_tokens or 0) + int(s.completion_tokens or 0))

    def making_spent(self, parent_id: str | None, iteration: int | str) -> Spent:
        return (self._spent(parent_id, f"diagnose/{iteration}") + self._spent(parent_id, f"self-modify/{iteration}")
                + self._spent(parent_id, f"smoke/{iteration}"))

    def child_spent(self, agent_id: str | None, task_id: str | None) -> Spent:
        making = MAKING_TASK.match(task_id or "")
        if making:
            return self.making_spent(agent_id, making.group(1))
        spent = self._spent(agent_id)
        record = _agent_record(self.ledger, agent_id)
        if record is not None and getattr(record, "parent_id", None):
            spent = spent + self.making_spent(record.parent_id, record.iteration)
        return spent


def _agent_record(ledger: Any, agent_id: str | None) -> Any:
    get = getattr(ledger, "get", None)
    if agent_id is None or get is None:
        return None
    from dgm.archive.errors import UnknownAgentError

    try:
        return get(agent_id)
    except (UnknownAgentError, LookupError):  # not (yet) an agent: nothing made it
        return None
