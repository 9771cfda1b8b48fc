"""The LLM ledger as a list of calls (when, why, what it cost), for the spend plot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dgm.archive.queries import Queries


@dataclass(frozen=True)
class CallPoint:
    """One LLM call of the ledger: when, why and what it cost."""

    created_at: datetime
    purpose: str
    cost: float
    agent_id: str | None = None


def parse_time(text: str) -> datetime:
    """Archive timestamps are ISO 8601; naive ones are taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def ledger_calls(archive: Queries) -> list[CallPoint]:
    """Every LLM call of the run, oldest first."""
    return [CallPoint(parse_time(r.created_at), r.purpose, float(r.cost_usd or 0.0), r.agent_id) for r in archive.llm_calls()]
