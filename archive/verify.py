"""Checking the database against git, both ways, and repairing what is safe.

Safe means nothing can be lost: a missing ref for a commit that exists is re-created, and
an agent's task count columns out of step with its task results are recounted from them
(derived data; the store does that, a read-only reader only reports). Everything else is reported; orphans (commits or refs with no agent row) are listed and
never deleted, since they may be the only copy of a child whose row was never written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol

from dgm.archive import gitread
from dgm.archive.records import AgentRecord, CountDrift, Issue, VerifyReport
from dgm.archive.schema import AGENT_REF_PREFIX, agent_ref


class CheckedRows(Protocol):
    """What verification reads from the database (the store's queries provide it)."""

    def integrity_problems(self) -> list[str]: ...

    def integrity_skipped(self) -> str | None: ...

    def agents(self) -> list[AgentRecord]: ...

    def task_count_drift(self) -> list[CountDrift]: ...


def verify(store: CheckedRows, git_dir: Path, repair: bool = False, recount: Callable[[list[str]], object] | None = None) -> VerifyReport:
    """`recount(agent_ids)` repairs task counts (given by a writable store when `repair`)."""
    damage = store.integrity_problems()
    if damage:  # rows read from a damaged file prove nothing: report that alone
        message = f"archive.db fails SQLite's integrity check: {damage[0]}" + (f" (+{len(damage) - 1} more)" if len(damage) > 1 else "")
        return VerifyReport(agents=0, commits=0, issues=(Issue("database-corrupt", message),))
    agents = store.agents()
    by_id = {agent.id: agent for agent in agents}
    refs = gitread.agent_refs(git_dir, AGENT_REF_PREFIX)
    commits = gitread.all_commits(git_dir)
    issues: list[Issue] = []
    for agent in agents:
        info = commits.get(agent.commit)
        if info is None:
            issues.append(Issue("missing-commit", f"agent {agent.id} names commit {agent.commit[:12]}, which is not in git", agent.id, agent.commit))
        else:
            if info.tree != agent.tree_hash:
                issues.append(Issue("wrong-tree", f"agent {agent.id}: tree {agent.tree_hash[:12]} recorded, commit has {info.tree[:12]}", agent.id, agent.commit))
            parent = by_id.get(agent.parent_id) if agent.parent_id else None
            expected = parent.commit if parent else None
            actual = info.parents[0] if info.parents else None
            if agent.parent_id and parent is None:
                issues.append(Issue("wrong-parent", f"agent {agent.id} names parent {agent.parent_id}, which has no row", agent.id, agent.commit))
            elif actual != expected or len(info.parents) > 1:
                issues.append(Issue("wrong-parent", f"agent {agent.id}: git parent {(actual or 'none')[:12]} is not parent agent {agent.parent_id or 'none'}'s commit {(expected or 'none')[:12]}", agent.id, agent.commit))
        ref = agent_ref(agent.id)
        if ref not in refs:
            repaired = False
            if repair and info is not None:
                gitread.update_ref(git_dir, ref, agent.commit)
                repaired = True
            issues.append(Issue("missing-ref", f"agent {agent.id} has no ref {ref}" + (" (re-created)" if repaired else ""), agent.id, agent.commit, repaired))
        elif refs[ref] != agent.commit:
            issues.append(Issue("wrong-ref", f"{ref} points at {refs[ref][:12]}, agent {agent.id} names {agent.commit[:12]}", agent.id, agent.commit))
    known_refs = {agent_ref(agent.id) for agent in agents}
    for ref, sha in sorted(refs.items()):
        if ref not in known_refs:
            issues.append(Issue("orphan-ref", f"{ref} -> {sha[:12]} has no agent row (kept)", None, sha))
    accounted = {agent.commit for agent in agents} | set(refs.values())
    for sha in sorted(set(commits) - accounted):
        issues.append(Issue("orphan-commit", f"commit {sha[:12]} has no agent row (kept)", None, sha))
    issues.extend(_count_issues(store.task_count_drift(), recount if repair else None))
    skipped = store.integrity_skipped()
    return VerifyReport(agents=len(agents), commits=len(commits), issues=tuple(issues), skipped=(skipped,) if skipped else ())


def _count_issues(drift: list[CountDrift], recount: Callable[[list[str]], object] | None) -> list[Issue]:
    if drift and recount is not None:
        recount([d.agent_id for d in drift])
    return [
        Issue(
            "wrong-task-count",
            f"agent {d.agent_id}: {d.recorded.passed} passed of {d.recorded.tasks} tasks recorded, its task results say "
            f"{d.counted.passed} of {d.counted.tasks}" + (" (recounted)" if recount else "; 'dgm archive verify --repair' recounts them"),
            d.agent_id, None, recount is not None,
        )
        for d in drift
    ]
