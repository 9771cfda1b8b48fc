"""The approval gate as the loop's parent selection applies it, on a real archive."""

from __future__ import annotations

from pathlib import Path

from dgm.config import RunConfig
from dgm.loop.daemon import Daemon, StopConditions, child_jobs
from dgm.loop.iteration import LoopContext
from dgm.report.demo import build_demo_archive
from dgm.review import approved_agent_ids


def chosen_parents(archive, run_dir: Path, require_approval: bool, draws: int = 30) -> set[str]:
    """Parents the daemon's selection picks over `draws` iterations (jobs queued, never run)."""
    config = RunConfig()
    config.loop.require_approval = require_approval
    config.loop.selection = "random"  # every eligible agent has a fair chance to show up
    daemon = Daemon(LoopContext(run_dir, config, archive, None, None, None), StopConditions())  # type: ignore[arg-type]
    before = len(child_jobs(archive))
    for _ in range(draws):
        daemon._enqueue_next_child()
    return {job.payload["parent"] for job in child_jobs(archive)[before:]}


def test_require_approval_limits_parents_to_approved_agents_and_the_seed(tmp_path: Path) -> None:
    archive, _ = build_demo_archive(tmp_path / "run", 10, seed=5, reviewer=False)
    with archive:
        seed = next(a for a in archive.agents() if a.parent_id is None)
        children = [a for a in archive.agents(status="evaluated") if a.parent_id]
        approved, rejected = children[0], children[1]
        archive.add_review(approved.id, "approve")
        archive.add_review(rejected.id, "reject", note="edits its tests")
        assert approved_agent_ids(archive) == {seed.id, approved.id}

        gated = chosen_parents(archive, tmp_path / "run", require_approval=True)
        assert gated == {seed.id, approved.id}

        open_run = chosen_parents(archive, tmp_path / "run", require_approval=False, draws=60)
        assert rejected.id not in open_run  # a rejected agent never becomes a parent
        assert len(open_run - {seed.id, approved.id}) > 0  # unreviewed agents may, without the option
