"""Per-agent task counts are columns (agents.tasks_done / tasks_passed): what every write path
leaves in them, what migration 4 fills in an old run, and what verify finds when they drift."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from archive_family import make_run, move_to_postgresql, run_sql
from test_archive_cli import dgm

from dgm.archive import Archive, NewTaskResult, Reader, TaskCount
from dgm.archive.schema import SCHEMA_VERSION
from tests.fixtures.old_run import unpack_old_run

SEED = {"agent.py": b"print('hi')\n"}


def record(store: Archive, agent: str, suite: str, stage: int, verdicts: dict[str, bool], finish: bool = True) -> int:
    """An evaluation as evals records it: opened, one row per verdict, then finished."""
    evaluation = store.start_evaluation(agent, suite, stage, len(verdicts))
    for task, passed in verdicts.items():
        store.add_task_result(evaluation, task, passed, 1.0, "ok" if passed else "failed")
    if finish:
        passed_n = sum(verdicts.values())
        store.finish_evaluation(evaluation, passed_n / len(verdicts), passed_n)
    return evaluation


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run with a seed a1 and its child a2, neither evaluated."""
    run = make_run(tmp_path / "run")
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "agent.py").write_bytes(SEED["agent.py"])
    with Archive.create(run) as store:
        seed = store.add_seed(tmp_path / "seed")
        store.add_child(seed.id, {"agent.py": b"print('hello')\n"}, iteration=1)
    return run


def counts_everywhere(run: Path) -> dict[str, TaskCount]:
    """task_counts as the store and the light reader see it (they must agree), after checking
    the columns against the task results."""
    with Archive.open(run, readonly=True) as store:
        assert store.task_count_drift() == []
        seen = store.task_counts()
    with Reader.open(run) as reader:
        assert reader.task_counts() == seen
    return seen


def test_an_evaluation_counts_once_finished(run):
    with Archive.open(run) as store:
        evaluation = record(store, "a2", "humaneval", 0, {"HumanEval/0": True, "HumanEval/1": False, "HumanEval/2": True}, finish=False)
        assert store.task_counts() == {} and store.task_count("a2") == TaskCount(0, 0)  # in flight: not counted yet
        store.finish_evaluation(evaluation, 2 / 3, 2)
        record(store, "a2", "humaneval", 1, {"HumanEval/3": False, "HumanEval/4": True})
        assert store.task_count("a2") == TaskCount(3, 5)
    assert counts_everywhere(run) == {"a2": TaskCount(3, 5)}


def test_a_stage_redone_counts_each_task_once(run):
    with Archive.open(run) as store:
        # the daemon died during stage 0: its rows stay, unfinished, and never count
        record(store, "a2", "humaneval", 0, {"HumanEval/0": True, "HumanEval/1": True}, finish=False)
        record(store, "a2", "humaneval", 0, {"HumanEval/0": False, "HumanEval/1": False})
        assert store.task_count("a2") == TaskCount(0, 2)
        # stage 0 redone after it finished (a re-run): a task passed by any verdict is passed
        record(store, "a2", "humaneval", 0, {"HumanEval/0": True, "HumanEval/1": False})
        assert store.task_count("a2") == TaskCount(1, 2)
        # the same task id in another suite is another task
        record(store, "a2", "humaneval-fix", 0, {"HumanEval/0": False})
        # a reused evaluation (an identical tree) is recorded as its own rows and counts as such
        record(store, "a1", "humaneval", 0, {"HumanEval/0": True, "HumanEval/1": False})
    assert counts_everywhere(run) == {"a2": TaskCount(1, 3), "a1": TaskCount(1, 2)}


def test_evaluate_more_adds_one_task_and_a_late_verdict_counts_at_once(run):
    with Archive.open(run) as store:
        record(store, "a2", "humaneval", 0, {"HumanEval/0": True, "HumanEval/1": False})
        # as dgm.loop.more records one more task: a one-task evaluation outside the plan
        more = record(store, "a2", "humaneval", 99, {"HumanEval/7": True})
        count = store.task_count("a2")
        assert count == TaskCount(2, 3)  # the score evaluate-more sets rests on this
        # a verdict added to an evaluation already finished counts in the same write
        store.add_task_result(more, "HumanEval/8", False, 1.0, "failed")
        assert store.task_count("a2") == TaskCount(2, 4)
        store.add_task_results(more, [NewTaskResult("HumanEval/9", True, 1.0, "ok"), NewTaskResult("HumanEval/8", True, 1.0, "ok")])
        assert store.task_count("a2") == TaskCount(4, 5)
        best = store.best()
    assert best is None  # nothing is 'evaluated' with a score yet: counts alone choose nothing
    assert counts_everywhere(run) == {"a2": TaskCount(4, 5)}


def test_best_and_score_stat_read_the_columns(run):
    with Archive.open(run) as store:
        record(store, "a1", "humaneval", 0, {"HumanEval/0": True})
        record(store, "a2", "humaneval", 0, {"HumanEval/0": True, "HumanEval/1": False})
        for agent, score in (("a1", 1.0), ("a2", 0.5)):
            store.set_score(agent, score)
            store.set_status(agent, "evaluated")
        best = store.best()
        assert best is not None and best.id == "a2"  # evaluated on the most tasks beats a higher score on fewer
        stat = store.score_stat(best)
        assert (stat.passed, stat.tasks) == (1, 2)


def _die_inside_finish(run: str, evaluation: int) -> None:
    """Child process: finish an evaluation, and be killed after the recount, before the commit."""
    store = Archive.open(Path(run))
    recount = store._recount

    def recount_then_die(session, agent):  # type: ignore[no-untyped-def]
        recount(session, agent)
        os.kill(os.getpid(), signal.SIGKILL)

    store._recount = recount_then_die  # type: ignore[method-assign]
    store.finish_evaluation(evaluation, 1.0, 1)


def test_kill_9_inside_the_finishing_write_leaves_counts_in_step(run):
    with Archive.open(run) as store:
        record(store, "a2", "humaneval", 0, {"HumanEval/0": False})
        open_one = record(store, "a2", "humaneval", 1, {"HumanEval/1": True}, finish=False)
    child = multiprocessing.get_context("spawn").Process(target=_die_inside_finish, args=(str(run), open_one))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    with Archive.open(run) as store:
        assert store.evaluations("a2")[1].finished_at is None  # the finish was lost whole...
        assert store.task_count("a2") == TaskCount(0, 1)  # ...with its recount
        assert store.verify().ok
        store.finish_evaluation(open_one, 1.0, 1)  # the daemon's retry
    assert counts_everywhere(run) == {"a2": TaskCount(1, 2)}


def test_two_writers_finishing_one_agents_evaluations_at_once_both_count(run):
    """The second writer's recount must see the first's: it waits for the agent's row."""
    with Archive.open(run) as store:
        first = record(store, "a2", "humaneval", 0, {"HumanEval/0": True}, finish=False)
        second = record(store, "a2", "humaneval", 1, {"HumanEval/1": True}, finish=False)
    recounted, release = threading.Event(), threading.Event()
    slow, fast = Archive.open(run), Archive.open(run)
    recount = slow._recount

    def recount_and_hold(session, agent):  # type: ignore[no-untyped-def]
        recount(session, agent)
        recounted.set()
        assert release.wait(30)

    slow._recount = recount_and_hold  # type: ignore[method-assign]
    holder = threading.Thread(target=slow.finish_evaluation, args=(first, 1.0, 1))
    holder.start()
    assert recounted.wait(30)
    other = threading.Thread(target=fast.finish_evaluation, args=(second, 1.0, 1))
    other.start()
    time.sleep(0.5)  # the second writer is now waiting for the first
    release.set()
    holder.join(30)
    other.join(30)
    slow.close()
    fast.close()
    assert counts_everywhere(run) == {"a2": TaskCount(2, 2)}


def test_migration_4_fills_the_counts_of_an_old_run(tmp_path, database, request):
    run, _ = unpack_old_run(tmp_path)
    # the old run's rows: four agents, each with one finished two-task humaneval evaluation,
    # every task failed. Add what the counting rule must get right, as an old dgm wrote it.
    run_sql(run, "UPDATE task_results SET passed = 1 WHERE id = 1")  # a1 passed HumanEval-65
    run_sql(run, "INSERT INTO evaluations (agent_id, suite, stage, score, n_tasks, n_passed, started_at, finished_at, tree_hash) "
                 "SELECT 'a2', suite, 0, 1.0, 2, 2, started_at, finished_at, tree_hash FROM evaluations WHERE id = 2")  # a2's stage redone
    run_sql(run, "INSERT INTO task_results (evaluation_id, task_id, passed, duration, exit_reason) VALUES "
                 "(5, 'humaneval/HumanEval-65', 1, 1.0, 'ok'), (5, 'humaneval/HumanEval-52', 1, 1.0, 'ok')")
    run_sql(run, "INSERT INTO evaluations (agent_id, suite, stage, n_tasks, started_at, tree_hash) "
                 "SELECT 'a3', suite, 1, 1, started_at, tree_hash FROM evaluations WHERE id = 3")  # a3's stage 1, never finished
    run_sql(run, "INSERT INTO task_results (evaluation_id, task_id, passed, duration, exit_reason) VALUES (6, 'humaneval/HumanEval-1', 1, 1.0, 'ok')")
    if database == "postgresql":  # the same old rows in PostgreSQL: migration 4's UPDATE runs there
        move_to_postgresql(run, request.getfixturevalue("pg_url"))
    migrate = dgm("archive", "migrate", "--run", str(run))
    assert migrate.returncode == 0 and f"schema version {SCHEMA_VERSION}" in migrate.stdout, migrate.stderr
    expected = {"a1": TaskCount(1, 2), "a2": TaskCount(2, 2), "a3": TaskCount(0, 2), "a4": TaskCount(0, 2)}
    assert counts_everywhere(run) == expected
    listing = dgm("archive", "ls", "--json", "--run", str(run))
    rows = {r["id"]: r for r in json.loads(listing.stdout)}
    assert {agent: (rows[agent]["passed"], rows[agent]["tasks"]) for agent in expected} == {a: tuple(c) for a, c in expected.items()}


def test_verify_finds_a_tampered_count_and_repair_recounts_it(run):
    with Archive.open(run) as store:
        record(store, "a2", "humaneval", 0, {"HumanEval/0": True, "HumanEval/1": False})
    run_sql(run, "UPDATE agents SET tasks_passed = 2 WHERE id = 'a2'")
    run_sql(run, "UPDATE agents SET tasks_done = 7 WHERE id = 'a1'")
    found = dgm("archive", "verify", "--json", "--run", str(run))
    assert found.returncode == 1, found.stdout
    report = json.loads(found.stdout)
    issues = {i["agent_id"]: i for i in report["issues"]}
    assert {i["kind"] for i in report["issues"]} == {"wrong-task-count"} and issues.keys() == {"a1", "a2"}
    assert "2 passed of 2 tasks recorded" in issues["a2"]["message"] and "say 1 of 2" in issues["a2"]["message"]
    assert "dgm archive verify --repair" in issues["a2"]["message"] and not issues["a2"]["repaired"]

    repaired = dgm("archive", "verify", "--repair", "--json", "--run", str(run))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert all(i["repaired"] and "(recounted)" in i["message"] for i in json.loads(repaired.stdout)["issues"])
    assert counts_everywhere(run) == {"a2": TaskCount(1, 2)}
    clean = dgm("archive", "verify", "--run", str(run))
    assert clean.returncode == 0 and "consistent" in clean.stdout and "INCONSISTENT" not in clean.stdout
