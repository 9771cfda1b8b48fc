"""A run whose suite is swebench:FILE: the instance's own `[swebench] timeout` is the agent's
limit there, not the run's `[eval] task_timeout`. Real Docker, git and SQLite; the run is
opened by `open_run` and its child evaluated by the loop's own step."""

from __future__ import annotations

from pathlib import Path

import pytest

from dgm.loop.iteration import evaluate_child
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
        (evaluation,) = ctx.archive.evaluations(hang.id)
        (result,) = ctx.archive.task_results(evaluation.id)
    assert outcome.status == "evaluated" and outcome.score == 0.0
    assert evaluation.suite == "swebench-instances" and result.exit_reason == "timeout"
    # stopped at the instance's 4 s (plus the repository copied in and the diff out), far
    # before the run's 60 s that every other suite's tasks get
    assert result.duration < 40, result.duration
