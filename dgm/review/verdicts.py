"""The one verdict rule, enforced where verdicts are written.

An agent's verdict is approve, reject, or none. Giving the verdict it already has adds
nothing and says so; changing approve to reject (or back) needs `force`, and the forced
change is recorded as a new review, so the history shows both. Notes never change a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dgm.errors import DgmError
from dgm.review.gate import APPROVE, NOTE, REJECT, latest_verdicts

if TYPE_CHECKING:
    from dgm.archive import Archive
    from dgm.archive.queries import Queries


class VerdictConflict(DgmError):
    """A verdict that would silently overturn an earlier one."""


@dataclass(frozen=True)
class VerdictOutcome:
    agent_id: str
    verdict: str
    previous: str | None
    """The verdict in force before (approve/reject), None when there was none."""
    recorded: bool
    """False when the agent already had this verdict, so nothing was added."""

    @property
    def changed(self) -> bool:
        return self.recorded and self.previous is not None and self.previous != self.verdict and self.verdict != NOTE

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.agent_id, "verdict": self.verdict, "previous": self.previous, "recorded": self.recorded, "changed": self.changed}


def current_verdict(archive: Queries, agent_id: str) -> str | None:
    return latest_verdicts(archive.reviews(agent_id)).get(agent_id)


def check_verdict(agent_id: str, verdict: str, previous: str | None, force: bool) -> None:
    """Raises: VerdictConflict when `verdict` would overturn `previous` without `force`."""
    if verdict in (APPROVE, REJECT) and previous not in (None, verdict) and not force:
        past = "approved" if previous == APPROVE else "rejected"
        raise VerdictConflict(f"{agent_id} is already {past}; pass --force to change its verdict to {verdict}")


def record_verdict(
    archive: Archive, agent_id: str, verdict: str, note: str = "", force: bool = False,
    file: str | None = None, line: int | None = None,
) -> VerdictOutcome:
    """Write a verdict or note under the rule above.

    Raises: VerdictConflict; archive UnknownAgentError.
    """
    previous = current_verdict(archive, agent_id)
    check_verdict(agent_id, verdict, previous, force)
    if verdict != NOTE and previous == verdict and not note:
        return VerdictOutcome(agent_id, verdict, previous, recorded=False)
    archive.add_review(agent_id, verdict, note=note, file=file, line=line)
    return VerdictOutcome(agent_id, verdict, previous, recorded=True)
