"""The LLM ledger as a list of calls (when, why, what it cost), for the spend plot."""

from __future__ import annotations

from typing import Any

from dgm.report.data import CallPoint, parse_time


def ledger_calls(archive: Any) -> list[CallPoint]:
    """Every LLM call of the run, oldest first."""
    return [CallPoint(parse_time(r.created_at), r.purpose, float(r.cost_usd or 0.0), r.agent_id) for r in archive.llm_calls()]
