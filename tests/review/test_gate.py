"""The approval gate on review records: latest verdict wins, rejects always block, the seed
counts as approved."""

from __future__ import annotations

from dgm.archive.records import AgentRecord, ReviewRecord

from dgm.review.gate import is_eligible_parent, latest_verdicts


def agent(agent_id: str, parent: str | None = "a1") -> AgentRecord:
    return AgentRecord(agent_id, int(agent_id[1:]), parent, "c" * 40, "t", "2026-01-01T00:00:00+00:00", 1, "evaluated", None, 0.5, "self-modify")


def review(n: int, agent_id: str, verdict: str, when: str) -> ReviewRecord:
    return ReviewRecord(n, agent_id, verdict, "", f"2026-01-01T00:00:{when}+00:00")


def test_latest_verdict_wins_and_notes_do_not_count() -> None:
    reviews = [review(1, "a2", "reject", "01"), review(2, "a2", "approve", "02"), review(3, "a2", "note", "03"), review(4, "a3", "note", "01")]
    assert latest_verdicts(reviews) == {"a2": "approve"}


def test_without_require_approval_only_rejected_agents_are_excluded() -> None:
    reviews = [review(1, "a2", "reject", "01"), review(2, "a3", "note", "01")]
    assert not is_eligible_parent(agent("a2"), reviews, False)
    assert is_eligible_parent(agent("a3"), reviews, False)
    assert is_eligible_parent(agent("a4"), reviews, False)


def test_with_require_approval_only_approved_agents_and_the_seed() -> None:
    reviews = [review(1, "a2", "approve", "01"), review(2, "a3", "approve", "01"), review(3, "a3", "reject", "02")]
    verdicts = latest_verdicts(reviews)
    assert is_eligible_parent(agent("a1", None), reviews, True)  # the seed
    assert is_eligible_parent(agent("a2"), verdicts, True)
    assert not is_eligible_parent(agent("a3"), verdicts, True)  # approved, then rejected
    assert not is_eligible_parent(agent("a4"), reviews, True)  # never reviewed
    assert not is_eligible_parent(agent("a1", None), [review(4, "a1", "reject", "09")], True)
