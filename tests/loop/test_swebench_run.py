"""Runs whose suites take a path (custom:PATH, swebench:FILE): the instance's own `[swebench]
timeout` is the agent's limit, not the run's `[eval] task_timeout`, in a child's evaluation and
in HGM's one-more-task step; HGM's task order knows what such a suite's evaluations recorded.
Real Docker, git and SQLite; the run is opened by `open_run` and driven by the loop's own steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from dgm.archive import Archive
from dgm.config import parse_config
from dgm.loop.iteration import evaluate_child
from dgm.loop.more import TaskOrders, done_tasks, evaluate_more
from dgm.loop.run import open_run
from tests.evals.swebench_world import TEMPLATE, TEST_CMD, build_world

HOSTILE = Path(__file__).parents[1] / "evals" / "agents" / "hostile.py"


@pytest.mark.docker
def test_the_swebench_timeout_wins_over_the_runs_task_timeout(make_run, tmp_path):
    world = build_world(tmp_path / "world")
    swebench = (f'\n[swebench]\nimage_template = "{TEMPLATE}"\ntest_cmd = "{TEST_CMD}"\ntimeout = 4.0\n'
                "test_timeout = 120.0\nmemory_mb = 1024\nwork_mb = 256\n")
    run_dir = make_run(suites=f'["swebench:{world.data}"]', stages="[{ tasks = 1 }]", extra=swebench)
    with open_run(run_dir) as ctx:
        assert ctx.config.eval.task_timeout == 60.0 and ctx.config.swebench.timeout == 4.0
        (seed,) = ctx.archive.agents()
        hang = ctx.archive.add_child(seed.id, {"agent.py": HOSTILE.read_bytes(), "mode.txt": b"hang\n"}, iteration=1)
        outcome = evaluate_child(ctx, 1, seed.id, hang.id)
        spec, task = TaskOrders(ctx.config).next_task(done_tasks(ctx.archive, hang.id))
        more = evaluate_more(ctx, hang.id, spec, task)  # HGM's step, with the run's [swebench] options
        assert evaluate_more(ctx, hang.id, spec, task).passed is None, "a re-run finds the task recorded"
        evaluations = ctx.archive.evaluations(hang.id)
        results = [r for e in evaluations for r in ctx.archive.task_results(e.id)]
    assert outcome.status == "evaluated" and outcome.score == 0.0 and more.passed is False
    assert [e.suite for e in evaluations] == ["swebench-instances"] * 2
    assert len({r.task_id for r in results}) == 2 and [r.exit_reason for r in results] == ["timeout", "timeout"]
    # stopped at the instance's 4 s (plus the repository copied in and the diff out), far
    # before the run's 60 s that every other suite's tasks get
    assert all(r.duration < 40 for r in results), [r.duration for r in results]


def test_hgm_takes_the_next_task_a_path_suite_has_not_recorded(tmp_path):
    config = parse_config('[eval]\nsuites = ["humaneval", "custom:evals/examples/exercises"]\n')
    orders = TaskOrders(config)
    assert orders.names == {"humaneval": "humaneval", "custom:evals/examples/exercises": "custom-exercises"}
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.toml").write_text('name = "t"\n')
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "agent.py").write_text("")
    with Archive.create(run) as store:
        agent = store.add_seed(tmp_path / "agent").id
        first = orders.orders["custom:evals/examples/exercises"][0]
        evaluation = store.start_evaluation(agent, "custom-exercises", 0, 1)  # the suite's own name, as evaluate records it
        store.add_task_result(evaluation, first, False, 1.0, "failed")
        store.finish_evaluation(evaluation, 0.0, 0)
        for step, task in enumerate(orders.orders["humaneval"][:2], 1):  # queued jobs name a suite as the config does
            store.enqueue_job("evaluate-more", {"agent": agent, "suite": "humaneval", "task": task, "step": step})
        done = done_tasks(store, agent)
    second = orders.orders["custom:evals/examples/exercises"][1]
    assert orders.next_task(done) == ("custom:evals/examples/exercises", second)
    done.add(("custom-exercises", second))
    assert orders.next_task(done) == ("humaneval", orders.orders["humaneval"][2])  # both suites 2 done: the first


@pytest.mark.docker
def test_evaluate_more_after_a_crash_counts_only_finished_work_and_sets_the_score(make_run):
    """The job re-run after a crash: a one-task evaluation the crash left unfinished (here with a
    forged pass) does not count and the task is evaluated again; a crash after the evaluation
    finished but before the score was set leaves a stale score that the re-run sets right."""
    spec = "custom:evals/examples/exercises"
    run_dir = make_run(suites=f'["{spec}"]', stages="[{ tasks = 1 }]")
    with open_run(run_dir) as ctx:
        (seed,) = ctx.archive.agents()
        task = TaskOrders(ctx.config).orders[spec][0]
        crashed = ctx.archive.start_evaluation(seed.id, "custom-exercises", 99, 1)
        ctx.archive.add_task_result(crashed, task, True, 1.0, "forged")  # never finished
        more = evaluate_more(ctx, seed.id, spec, task)
        count = ctx.archive.task_counts()[seed.id]
        assert more.passed is not None, "the unfinished evaluation is not a recorded task: it runs again"
        assert count.tasks == 1 and more.score == count.passed / count.tasks == ctx.archive.get(seed.id).score
        ctx.archive.set_score(seed.id, 0.77)  # as if the process died between finishing and scoring
        again = evaluate_more(ctx, seed.id, spec, task)
        assert again.passed is None and again.score == more.score == ctx.archive.get(seed.id).score
