"""The LLM ledger as a list of calls (when, why, what it cost), for the spend plot.

The archive's public API sums spend (`spend()`) but, as this is written, has no listing of
calls; until it does (`llm_calls()`), this module reads the `llm_calls` table itself through
the archive's shared read path, read-only, selecting only the columns the report needs.
"""

from __future__ import annotations

from typing import Any

from dgm.report.data import CallPoint, parse_time

_SQL = "SELECT created_at, purpose, cost_usd, agent_id FROM llm_calls ORDER BY created_at, id"


def ledger_calls(archive: Any) -> list[CallPoint]:
    """Every LLM call of the run, oldest first."""
    listing = getattr(archive, "llm_calls", None)
    if callable(listing):
        rows = [
            {"created_at": r.created_at, "purpose": r.purpose, "cost_usd": getattr(r, "cost_usd", getattr(r, "cost", 0.0)), "agent_id": r.agent_id}
            for r in listing()
        ]
    else:
        rows = archive._rows(_SQL)  # the Queries read path shared by Reader and Archive
    return [CallPoint(parse_time(r["created_at"]), r["purpose"], float(r["cost_usd"] or 0.0), r["agent_id"]) for r in rows]
