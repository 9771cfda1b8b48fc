"""The run assembled by `open_run` and driven in this process: scripted model, real Docker,
real git and SQLite. Signals and exit codes are tested on the real CLI in test_daemon.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dgm.config import RunConfig, dump_config
from dgm.errors import DaemonBusyError
from dgm.loop.daemon import CHILD, EVALUATE, Daemon, StopConditions
from dgm.loop.lock import running_daemon
from dgm.loop.progress import take_snapshot
from dgm.loop.run import open_run


def run_in_process(run_dir: Path, **stop) -> list:
    with open_run(run_dir) as ctx:
        changes = []
        ctx.on_change = lambda: changes.append(1)
        assert running_daemon(run_dir) == os.getpid(), "an open run holds the one-daemon lock"
        with pytest.raises(DaemonBusyError):
            with open_run(run_dir):
                pass
        outcomes = Daemon(ctx, StopConditions(max_iterations=ctx.config.loop.max_iterations, **stop)).run()
        assert bool(changes) == bool(outcomes), "the display is told about each step"
    assert running_daemon(run_dir) is None, "closing the run frees its lock"
    return outcomes


def steps(store, iteration: int) -> list[str]:
    return [e.data["step"] for e in store.events(limit=500) if e.kind == "step" and e.data["iteration"] == iteration]


@pytest.mark.docker
@pytest.mark.slow
def test_a_dry_run_of_two_children_in_process(make_run):
    from dgm.archive import Archive

    run_dir = make_run(iterations=2)
    outcomes = run_in_process(run_dir)

    with Archive.open(run_dir, readonly=True) as store:
        agents = sorted(store.agents(), key=lambda a: a.iteration)
        seed, children = agents[0], agents[1:]
        assert seed.origin == "seed" and seed.status == "evaluated" and seed.score is not None
        assert [c.iteration for c in children] == [1, 2]
        assert all(c.status in ("evaluated", "invalid") for c in children)
        assert all(store.evaluations(c.id) for c in children if c.status == "evaluated")
        jobs = store.jobs()
        assert [(j.kind, j.state) for j in jobs] == [(EVALUATE, "done"), (CHILD, "done"), (CHILD, "done")]
        assert jobs[0].payload == {"agent": seed.id, "iteration": 0, "parent": ""}, "the seed's evaluation is a job"
        assert steps(store, 1)[:2] == ["diagnose", "self-modify"] and steps(store, 1)[-1] == "evaluate"
        assert store.verify().ok
    assert sorted(o.iteration for o in outcomes) == [0, 1, 2]
    assert not subprocess.run(["docker", "ps", "-aq", "--filter", "label=dgm.run=r"], capture_output=True, text=True).stdout.strip()


@pytest.mark.docker
@pytest.mark.slow
def test_an_unfinished_evaluation_is_one_job_run_once(make_run):
    """A child whose evaluation failed (its job is done with) is evaluated again by an
    'evaluate' job on the next start, once; a later start finds nothing left to do."""
    from dgm.archive import Archive

    run_dir = make_run(iterations=1)
    run_in_process(run_dir)
    with Archive.open(run_dir) as store:
        child = next(a for a in store.agents() if a.iteration == 1)
        store.set_status(child.id, "evaluating")  # what a failed evaluation leaves
        evaluated_before = sum(e.kind == "evaluated" and e.agent_id == child.id for e in store.events(limit=500))

    outcomes = run_in_process(run_dir)
    assert [(o.iteration, o.child_id, o.status) for o in outcomes] == [(1, child.id, "evaluated")]
    assert run_in_process(run_dir) == [], "nothing is evaluated twice"
    with Archive.open(run_dir, readonly=True) as store:
        assert store.get(child.id).status == "evaluated"
        jobs = [j for j in store.jobs() if j.kind == EVALUATE and j.agent_id == child.id]
        assert [(j.state, j.payload["iteration"]) for j in jobs] == [("done", 1)]
        assert sum(e.kind == "evaluated" and e.agent_id == child.id for e in store.events(limit=500)) == evaluated_before + 1
        assert len([j for j in store.jobs() if j.kind == CHILD]) == 1, "no new child past the run's limit"


def test_old_stage_events_still_show_as_steps(tmp_path):
    """Runs made before the rename recorded progress as events of kind 'stage'."""
    from dgm.archive import Archive

    config = RunConfig(name="old")
    (tmp_path / "run.toml").write_text(dump_config(config), encoding="utf-8")
    with Archive.create(tmp_path) as store:
        for iteration in (1, 2):
            store.enqueue_job(CHILD, {"iteration": iteration, "parent": "a"})
            store.claim_job([CHILD])
        store.log_event("stage", "iteration 1: smoke", data={"iteration": 1, "stage": "smoke"})
        store.log_event("step", "iteration 2: diagnose", data={"iteration": 2, "step": "diagnose"})
        store.log_event("selected", "iteration 2: parent a")
        snap = take_snapshot(store, config)
    assert [(f.iteration, f.step) for f in snap.in_flight] == [(1, "smoke"), (2, "diagnose")]
    assert [kind for _, kind, _ in snap.events] == ["selected"], "steps show in the table, not as events"
    assert snap.children_started == 2
