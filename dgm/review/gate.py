"""The approval gate: which agents a human allows to become parents.

A reviewer's latest approve/reject verdict on an agent is the one in force (notes never change
it), so a human can change their mind. A rejected agent never becomes a parent, whatever the
run's options: rejecting is how a person stops a line of descent they do not like. With the
run option `require_approval` on, an agent must also be approved; the seed (no parent) counts
as approved, since a run must start somewhere.

Pure functions over review records (anything with agent_id, verdict, created_at and id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol, Sequence

if TYPE_CHECKING:
    from dgm.archive.queries import Queries

APPROVE, REJECT, NOTE = "approve", "reject", "note"


class _Review(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def agent_id(self) -> str: ...

    @property
    def verdict(self) -> str: ...

    @property
    def created_at(self) -> str: ...


def latest_verdicts(reviews: Iterable[_Review]) -> dict[str, str]:
    """Agent id -> 'approve' or 'reject', the latest such verdict; agents never judged absent."""
    latest: dict[str, tuple[tuple[str, int], str]] = {}
    for review in reviews:
        if review.verdict not in (APPROVE, REJECT):
            continue
        key = (review.created_at, review.id)
        current = latest.get(review.agent_id)
        if current is None or key >= current[0]:
            latest[review.agent_id] = (key, review.verdict)
    return {agent: verdict for agent, (_, verdict) in latest.items()}


def is_seed(agent: Any) -> bool:
    return agent.parent_id is None


def is_eligible_parent(agent: Any, reviews: Sequence[_Review] | Mapping[str, str], require_approval: bool) -> bool:
    """Whether human review allows `agent` to become a parent.

    `reviews` is either review records (all of the run's, or only this agent's) or the mapping
    `latest_verdicts` returns; pass the mapping when checking many agents, to read the reviews
    once. This gate is about review only: the loop still requires a valid, scored agent.
    """
    verdicts = reviews if isinstance(reviews, Mapping) else latest_verdicts(r for r in reviews if r.agent_id == agent.id)
    verdict = verdicts.get(agent.id)
    if verdict == REJECT:
        return False
    if not require_approval:
        return True
    return verdict == APPROVE or is_seed(agent)


def approved_agent_ids(archive: Queries) -> set[str]:
    """Ids of the agents that currently count as approved: the seed(s) unless rejected, and
    every agent whose latest verdict is approve."""
    verdicts = latest_verdicts(archive.reviews())
    approved = {agent_id for agent_id, verdict in verdicts.items() if verdict == APPROVE}
    approved |= {a.id for a in archive.agents() if is_seed(a) and verdicts.get(a.id) != REJECT}
    return approved
