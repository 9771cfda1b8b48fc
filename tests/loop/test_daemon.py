"""The daemon end to end: scripted model, real Docker sandboxes, real git and SQLite."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.loop.conftest import CANARY, dgm

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def archive_state(run_dir: Path) -> list[tuple]:
    from dgm.archive import Archive

    with Archive.open(run_dir, readonly=True) as store:
        return [
            (a.id, a.parent_id, a.iteration, a.status, a.status_reason, a.score, store.tree_hash(a.id))
            for a in sorted(store.agents(), key=lambda a: a.iteration)
        ]


def git(run_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(run_dir / "agents.git"), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_dry_run_grows_real_children(make_run):
    from dgm.archive import Archive

    run_dir = make_run(iterations=3)
    result = dgm("run", "--run", str(run_dir), check=True)
    assert result.stdout.count("DRY RUN") >= 2, "the dry run must say so at start and end"

    with Archive.open(run_dir, readonly=True) as store:
        agents = {a.id: a for a in store.agents()}
        children = [a for a in agents.values() if a.origin != "seed"]
        assert len(children) == 3
        for child in children:
            parent = agents[child.parent_id]
            assert git(run_dir, "rev-parse", f"{child.commit}^") == parent.commit
            assert git(run_dir, "rev-parse", f"refs/agents/{child.id}") == child.commit
            assert store.diff(child.id).strip(), "a child must differ from its parent"
            assert child.meta.get("problem_statement"), "the diagnosis is stored with the child"
            if child.status == "evaluated":
                evaluations = store.evaluations(child.id)
                assert evaluations and all(e.finished_at for e in evaluations)
                assert store.task_results(evaluations[0].id)
        assert any(c.status == "evaluated" for c in children)
        purposes = {row.purpose for row in store.llm_calls()}
        assert {"diagnose", "self-modify", "solve"} <= purposes
        assert store.spend().calls > 0


def test_keys_never_reach_the_archive_logs_or_git(make_run):
    run_dir = make_run(iterations=1)
    dgm("run", "--run", str(run_dir), check=True)
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), f"the key leaked into {path}"


@pytest.mark.parametrize(
    "scenario, reason",
    [
        ("empty-diff", "empty diff"),
        ("broken-agent", "agent.py does not compile"),
        ("fail-smoke", "failed the smoke task"),
    ],
)
def test_invalid_children_are_kept_but_never_parents(make_run, scenario, reason):
    from dgm.archive import Archive

    run_dir = make_run(scenario=scenario, iterations=2)
    dgm("run", "--run", str(run_dir), check=True)
    with Archive.open(run_dir, readonly=True) as store:
        seed = next(a for a in store.agents() if a.origin == "seed")
        children = [a for a in store.agents() if a.origin != "seed"]
        assert len(children) == 2
        for child in children:
            assert child.status == "invalid"
            assert reason in child.status_reason
            assert child.parent_id == seed.id, "an invalid child must never be chosen as a parent"
            assert not store.evaluations(child.id)


def test_garbage_diagnosis_is_recorded_and_the_run_goes_on(make_run):
    from dgm.archive import Archive

    run_dir = make_run(scenario="garbage-diagnosis", iterations=2)
    result = dgm("run", "--run", str(run_dir), check=True)
    assert "Traceback" not in result.stderr
    with Archive.open(run_dir, readonly=True) as store:
        assert [a.origin for a in store.agents()] == ["seed"]
        assert sum(e.kind == "diagnosis-failed" for e in store.events(limit=100)) == 2


def test_spent_budget_stops_new_work_and_keeps_paid_work(make_run):
    from dgm.archive import Archive

    run_dir = make_run(iterations=10, extra="\n[budget]\nusd_total = 0.002\n")
    result = dgm("run", "--run", str(run_dir), check=True)
    assert "budget" in result.stdout
    with Archive.open(run_dir, readonly=True) as store:
        outcomes = [row.outcome for row in store.llm_calls()]
        assert len([a for a in store.agents() if a.origin != "seed"]) < 10
        assert "budget" in outcomes or store.spend().usd >= 0.002
        assert all(job.state != "running" for job in store.jobs())


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def rows_now(run_dir: Path, sql: str) -> list[tuple]:
    """What a read-only look at the live archive finds (nothing while it cannot be read yet)."""
    try:
        with sqlite3.connect(f"file:{run_dir / 'archive.db'}?mode=ro", uri=True, timeout=1) as db:
            return db.execute(sql).fetchall()
    except sqlite3.Error:
        return []


def step_reached(run_dir: Path, iteration: int, step: str) -> bool:
    rows = rows_now(run_dir, "select message from events where kind = 'step'")
    return any(row[0] == f"iteration {iteration}: {step}" for row in rows)


@contextlib.contextmanager
def paused(proc: subprocess.Popen) -> Iterator[None]:
    """`proc` stopped, every thread of it, for the block: what it is doing cannot move on."""
    proc.send_signal(signal.SIGSTOP)
    try:
        wait_for(lambda: all(stopped(task) for task in Path(f"/proc/{proc.pid}/task").iterdir()), 30,
                 "the daemon to stop")
        yield
    finally:
        proc.send_signal(signal.SIGCONT)


def stopped(task: Path) -> bool:
    try:
        return (task / "stat").read_bytes().rsplit(b")", 1)[1].split()[0] in (b"T", b"t")
    except (OSError, IndexError):
        return True  # a thread that ended


def signal_handled(run_dir: Path) -> bool:
    return bool(rows_now(run_dir, "select 1 from events where kind = 'signal'"))


def running_jobs(run_dir: Path) -> int:
    return len(rows_now(run_dir, "select 1 from jobs where state = 'running'"))


def test_resume_after_kill_9_ends_like_an_uninterrupted_run(make_run):
    reference = make_run("reference", iterations=4)
    dgm("run", "--run", str(reference), check=True)

    crashed = make_run("crashed", iterations=4)
    env = {**os.environ, "OPENAI_API_KEY": CANARY}
    daemon = subprocess.Popen([sys.executable, "-m", "dgm.cli", "run", "--run", str(crashed)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # a job still running in the same look: children run side by side, so by the time
        # iteration 2 is seen evaluating the others may be done and the run about to end
        wait_for(lambda: step_reached(crashed, 2, "evaluate") and running_jobs(crashed) >= 1, 300,
                 "iteration 2 to reach evaluation with a job in flight")
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
    running = running_jobs(crashed)
    assert running >= 1, "the kill must catch a job in flight, or the test proves nothing"
    dgm("run", "--run", str(crashed), check=True)
    with sqlite3.connect(crashed / "archive.db") as db:
        said = [row[0] for row in db.execute("select message from events where kind = 'resume'")]
    assert len(said) == 1 and said[0].startswith(f"re-queued {running} job(s)"), said

    assert archive_state(crashed) == archive_state(reference)
    leftovers = subprocess.run(["docker", "ps", "-aq", "--filter", "label=dgm.run=crashed"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "no container of the crashed run may survive the resume"


def test_status_from_another_terminal(make_run):
    run_dir = make_run(iterations=1)
    dgm("run", "--run", str(run_dir), check=True)
    result = dgm("status", "--run", str(run_dir), "--json", check=True)
    import json

    snap = json.loads(result.stdout)
    assert snap["agents"] == 2 and snap["dry_run"] is True and snap["in_flight"] == []
    assert snap["note"].startswith("no daemon running")


def start_daemon(run_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "OPENAI_API_KEY": CANARY, "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen([sys.executable, "-m", "dgm.cli", "run", "--run", str(run_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def containers_of(run_name: str) -> str:
    found = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=dgm.run={run_name}"], capture_output=True, text=True)
    return found.stdout.strip()


def containers_owned_by(pid: int) -> list[str]:
    """Every sandbox container a process started (agent runs, evaluations, grading alike)."""
    found = subprocess.run(["docker", "ps", "-a", "--filter", "label=dgm.sandbox=1", "--format", '{{.ID}} {{.Label "dgm.owner"}}'],
                           capture_output=True, text=True, check=True)
    return [line.split()[0] for line in found.stdout.splitlines() if f":{pid}:" in line]


def test_first_signal_drains_the_children_in_flight(make_run):
    from dgm.archive import Archive

    run_dir = make_run("drain", iterations=4)
    daemon = start_daemon(run_dir)
    try:
        wait_for(lambda: step_reached(run_dir, 1, "self-modify"), 300, "iteration 1 to start self-modifying")
        import json

        with paused(daemon):  # a status process starts slowly; iteration 1 must not end meanwhile
            live = json.loads(dgm("status", "--run", str(run_dir), "--json", check=True).stdout)
        assert live["note"] == f"daemon running (pid {daemon.pid})"
        assert [f["iteration"] for f in live["in_flight"]] == [1]
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=300)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    assert "draining" in out and "stopped: drained after a stop signal" in out
    with Archive.open(run_dir, readonly=True) as store:
        assert all(job.state != "running" for job in store.jobs()), "a drain finishes what is in flight"
        child = next(a for a in store.agents() if a.iteration == 1)
        assert child.status in ("evaluated", "invalid")
        assert len([job for job in store.jobs() if job.kind == "child"]) < 4, "no new child starts after the signal"
    assert containers_of("drain") == ""


def test_second_signal_stops_at_once_and_the_next_run_resumes(make_run):
    from dgm.archive import Archive

    run_dir = make_run("hardstop", iterations=2)
    daemon = start_daemon(run_dir)
    try:
        wait_for(lambda: step_reached(run_dir, 1, "evaluate") and containers_of("hardstop"), 300,
                 "iteration 1 to be evaluating in a sandbox")
        daemon.send_signal(signal.SIGINT)
        # the second only once the first was handled: two sent at once may arrive as one
        wait_for(lambda: signal_handled(run_dir), 60, "the first signal to be handled")
        daemon.send_signal(signal.SIGINT)
        try:
            out, err = daemon.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: dump every thread, then die
            out, err = daemon.communicate(timeout=30)
            raise AssertionError(f"the second signal did not stop the daemon:\n{err}") from None
    finally:
        daemon.kill()
    assert daemon.returncode == 130, (out, err)
    assert "stopped at once" in out and "Traceback" not in err
    assert containers_of("hardstop") == "", "a hard stop removes its own sandboxes"
    assert containers_owned_by(daemon.pid) == [], "evaluation and grading sandboxes too"
    with Archive.open(run_dir, readonly=True) as store:
        assert "running" in [job.state for job in store.jobs()], "the interrupted child is left to resume"
    dgm("run", "--run", str(run_dir), check=True)
    with Archive.open(run_dir, readonly=True) as store:
        assert [(job.kind, job.state) for job in store.jobs()] == [("evaluate", "done"), ("child", "done"), ("child", "done")]
        assert all(a.status in ("evaluated", "invalid") for a in store.agents())
        assert store.verify().ok
