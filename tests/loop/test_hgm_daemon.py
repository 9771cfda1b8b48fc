"""HGM in the real daemon: expansion and one-more-task evaluation as jobs (scripted model,
real Docker sandboxes, real git and SQLite)."""

from __future__ import annotations

import pytest

from tests.loop.conftest import dgm

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_hgm_run_spends_an_extra_task_between_children(make_run):
    from dgm.archive import Archive

    # 2 tasks per new agent. alpha 0.38: expand at 2 and 4 evaluations (2**0.38 >= 0 children,
    # 4**0.38 >= 1), evaluate one more task at 6 (6**0.38 = 1.98 < 2), expand at 7.
    run_dir = make_run(iterations=3, extra='\n[hgm]\nalpha = 0.38\n', stages="[{ tasks = 2 }]")
    config = (run_dir / "run.toml").read_text()
    (run_dir / "run.toml").write_text(config.replace('selection = "score_child_prop"', 'selection = "hgm"'))
    dgm("run", "--run", str(run_dir), check=True)
    with Archive.open(run_dir, readonly=True) as store:
        jobs = store.jobs()
        kinds = [j.kind for j in sorted(jobs, key=lambda j: j.id)]
        assert kinds == ["evaluate", "child", "child", "evaluate-more", "child"]  # the seed's evaluation first
        more = next(j for j in jobs if j.kind == "evaluate-more")
        assert more.state == "done" and more.payload["step"] == 3
        counts = store.task_counts()
        agent = more.payload["agent"]
        assert counts[agent].tasks == 3, "the extra task is recorded as the agent's third"
        extra = [e for e in store.evaluations(agent) if e.n_tasks == 1]
        assert [r.task_id for r in store.task_results(extra[0].id)] == [more.payload["task"]]
        assert store.get(agent).score == pytest.approx(counts[agent].passed / 3)
        assert store.task_count_drift() == [], "the counts the daemon kept agree with the task results"
    # a second start resumes: nothing left to do, and the archive is unchanged
    dgm("run", "--run", str(run_dir), check=True)
    with Archive.open(run_dir, readonly=True) as store:
        assert len(store.jobs()) == 5
