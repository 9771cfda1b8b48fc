"""Sandboxes on a real Ray cluster (one head without slots, two worker nodes with two
`dgm_sandbox` slots each) with real Docker, real git and SQLite; only the model is scripted."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import CANARY, node_pids, process_env
from tests.loop.conftest import new_run

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def run_in_process(run_dir: Path):
    from dgm.loop.daemon import Daemon, StopConditions
    from dgm.loop.run import open_run

    with open_run(run_dir) as ctx:
        Daemon(ctx, StopConditions(max_iterations=ctx.config.loop.max_iterations)).run()
        return ctx.backend


def lineage(run_dir: Path) -> list[tuple]:
    from dgm.archive import Archive

    with Archive.open(run_dir, readonly=True) as store:
        agents = {a.id: a for a in store.agents()}
        return sorted((a.iteration, agents[a.parent_id].iteration if a.parent_id else None, a.status, a.score)
                      for a in agents.values())


def test_a_dry_run_spreads_over_both_workers_and_matches_the_local_executor(ray_cluster, tmp_path):
    address = ray_cluster.cluster.address
    on_ray = new_run(tmp_path, "ray", iterations=2, extra=f'[executor]\nkind = "ray"\naddress = "{address}"\n')
    local = new_run(tmp_path, "local", iterations=2)

    backend = run_in_process(on_ray)
    run_in_process(local)

    placed = {p.node_id for p in backend.placements}
    workers = {w.node_id for w in ray_cluster.workers}
    assert placed == workers, "task runs land on both worker nodes, and only there"
    assert ray_cluster.head_id not in placed, "a node without dgm_sandbox gets no sandbox"
    assert {p.labels.get("purpose") for p in backend.placements} >= {"agent", "grade"}
    assert lineage(on_ray) == lineage(local), "the same seed gives the same lineage and scores"
    from dgm.archive import Archive

    with Archive.open(on_ray, readonly=True) as store:
        assert {"diagnose", "self-modify", "solve"} <= {row.purpose for row in store.llm_calls()}, \
            "agents on the workers reached the model through the relay, recorded on the head"
        assert store.verify().ok

    for worker in ray_cluster.workers:
        for pid in node_pids(worker):
            assert CANARY.encode() not in process_env(pid), f"a worker process ({pid}) holds the provider key"
    head_env = b"".join(process_env(pid) for pid in node_pids(ray_cluster.cluster.head_node))
    assert CANARY.encode() in head_env, "the scan sees a key where there is one (the head)"


SLOW_AGENT = """import sys, time
time.sleep(6)
print("done")
"""


def test_a_worker_killed_mid_evaluation_costs_the_agent_nothing(ray_cluster, tmp_path):
    from dgm.evals.base import StagePlan, Stage
    from dgm.evals.evaluate import evaluate
    from dgm.evals.reuse import DiskCache

    from dgm.cluster.ray_backend import RayBackend
    from dgm.sandbox import Limits

    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "agent.py").write_text(SLOW_AGENT)
    backend = RayBackend(backend="docker")
    victim = ray_cluster.workers[1]
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(report=evaluate(
        agent, ["humaneval"], StagePlan((Stage(2),)), backend, workers=2, progress=False,
        limits=Limits(wall_seconds=120, exec_timeout=60), cache=DiskCache(tmp_path / "cache"))))
    thread.start()
    deadline = time.monotonic() + 60
    while not any(p.node_id == victim.node_id for p in backend.placements):
        assert time.monotonic() < deadline and thread.is_alive(), "no session was placed on the second worker"
        time.sleep(0.2)
    time.sleep(1.0)  # the agent is running there now
    ray_cluster.kill(victim)
    thread.join(180)
    try:
        report = result["report"]
        assert len(report.results) == 2
        assert all(r.exit_reason not in ("timeout", "crash") for r in report.results), \
            [(r.task_id, r.exit_reason) for r in report.results]
        assert [n.lost for n in backend.nodes() if n.node_id == victim.node_id] == [True]
        assert backend.lost_sessions >= 1, "the node died under a running sandbox"
        rerun = [p for p in backend.placements if p.node_id != victim.node_id and p.labels.get("purpose") == "agent"]
        assert len(rerun) >= 2, "the lost task ran again on the surviving node"
    finally:
        ray_cluster.add_worker()


def test_the_local_executor_is_the_default_and_never_imports_ray():
    code = ("import sys; import dgm.cli, dgm.cli.runs_daemon, dgm.loop.run, dgm.loop.daemon; "
            "from dgm.config import RunConfig; assert RunConfig().executor.kind == 'local'; "
            "assert 'ray' not in sys.modules, 'ray imported on the start-up path'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_head_refuses_forged_or_unsafe_results_from_a_node(ray_cluster):
    from dgm.cluster.node_host import NodeHost
    from dgm.cluster.ray_backend import RayBackend
    from dgm.sandbox import SandboxError, TransferError

    class ForgingHost(NodeHost):  # a compromised node
        def call(self, key, method, args, kwargs):
            got_key, result = super().call(key, method, args, kwargs)
            if method == "get_files":
                return got_key, {"../../etc/cron.d/x": b"owned"}
            return "someone-else", result

    backend = RayBackend(backend="docker", host_class=ForgingHost)
    with backend.start() as session:
        with pytest.raises(SandboxError, match="did not open"):
            session.exec(["true"])
        with pytest.raises(TransferError, match="unsafe path"):
            session.get_files("/work")
    assert backend.refused == 1


def test_cluster_view_shows_slots_and_sessions_and_a_hard_stop_removes_them(ray_cluster):
    from dgm.cluster.ray_backend import RayBackend
    from dgm.cluster.worker import cluster_view

    backend = RayBackend(backend="docker")
    session = backend.start(labels={"purpose": "agent", "task": "t-1"})
    views = {v.node_id: v for v in cluster_view()}
    assert views[ray_cluster.head_id].slots == 0
    assert sorted(views[w.node_id].slots for w in ray_cluster.workers) == [2, 2]
    assert [r["task"] for r in views[session.node_id].running] == ["t-1"]
    assert views[session.node_id].backend == "docker"
    assert backend.sweep("no-such-run", include_own=True) >= 1, "a hard stop closes this head's sessions"
    assert not any(v.running for v in cluster_view())
    session.close()


def test_an_unreachable_cluster_is_one_line_and_a_non_zero_exit(tmp_path):
    from tests.loop.conftest import dgm

    run_dir = new_run(tmp_path, "gone", iterations=1)
    result = dgm("run", "--run", str(run_dir), "--executor", "ray", "--ray-address", "127.0.0.1:1", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["dgm: error: cannot reach the Ray cluster at 127.0.0.1:1: Connection refused"]


def test_a_worker_proves_its_sandbox_first_and_passes_no_key_to_ray(monkeypatch):
    from dgm.cluster.worker import prepare_sandbox, ray_start_argv, worker_env

    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("DGM_MODEL", "gpt-x")
    env = worker_env()
    assert CANARY not in env.values() and env["DGM_MODEL"] == "gpt-x"
    assert prepare_sandbox("docker", "dgm-sandbox:latest") == "docker", "the self-check passes here"
    argv = ray_start_argv("10.0.0.1:6379", 3)
    assert argv[1:4] == ["start", "--address", "10.0.0.1:6379"] and '{"dgm_sandbox": 3}' in argv


HEAD = """import sys, time
import ray
ray.init(address=sys.argv[1], namespace="dgm", log_to_driver=False)
from dgm.cluster.ray_backend import RayBackend
session = RayBackend(backend="docker").start(labels={"run": "head-killed"})
session.exec(["true"])
print("ready", flush=True)
time.sleep(600)
"""


def test_a_head_killed_with_kill_9_leaves_no_sandbox_on_the_workers(ray_cluster):
    from dgm.cluster.ray_backend import RayBackend

    head = subprocess.Popen([sys.executable, "-c", HEAD, ray_cluster.cluster.address], stdout=subprocess.PIPE, text=True)
    try:
        assert head.stdout.readline().strip() == "ready"
        assert _containers("head-killed"), "the head's sandbox runs on a worker"
    finally:
        head.kill()
        head.wait()
    backend = RayBackend(backend="docker")
    deadline = time.monotonic() + 60
    while _containers("head-killed"):  # the node's host ends with its dead owner, or the sweep removes it
        assert time.monotonic() < deadline, "a sandbox of the killed head is left on a worker"
        backend.sweep("head-killed")
        time.sleep(0.5)


def _containers(run: str) -> list[str]:
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"label=dgm.run={run}"], capture_output=True, text=True).stdout.split()


def test_a_run_goes_on_when_a_worker_dies_and_no_job_or_task_is_charged_for_it(ray_cluster, tmp_path):
    from dgm.archive import Archive

    from dgm.loop.daemon import Daemon, StopConditions
    from dgm.loop.run import open_run
    from tests.loop.conftest import dgm, write_config

    address = ray_cluster.cluster.address
    config = write_config(tmp_path / "dies.toml", iterations=2, extra=f'[executor]\nkind = "ray"\naddress = "{address}"\n')
    slow = config.read_text().replace('name = "scripted:dry-run"', 'name = "scripted:dry-run"\nscripted_latency = 0.5')
    config.write_text(slow)  # the model takes its time, so the node dies under a running agent
    run_dir = tmp_path / "dies"
    dgm("init", str(run_dir), "--config", str(config), check=True)
    victim = ray_cluster.workers[0]
    held: dict = {}

    def daemon() -> None:
        with open_run(run_dir) as ctx:
            held["backend"] = ctx.backend
            Daemon(ctx, StopConditions(max_iterations=2)).run()

    thread = threading.Thread(target=daemon)
    thread.start()
    deadline = time.monotonic() + 90
    while not any(p.node_id == victim.node_id and p.labels.get("purpose") == "agent"
                  for p in getattr(held.get("backend"), "placements", [])):
        assert time.monotonic() < deadline and thread.is_alive(), "no agent ran on the first worker"
        time.sleep(0.1)
    ray_cluster.kill(victim)
    try:
        thread.join(240)
        assert not thread.is_alive()
        assert held["backend"].lost_sessions >= 1, "the node died under a running sandbox"
        with Archive.open(run_dir, readonly=True) as store:
            assert [j.state for j in store.jobs()] == ["done"] * 3, "no job failed for the lost node"
            assert all(a.status in ("evaluated", "invalid") for a in store.agents())
            reasons = {r.exit_reason for a in store.agents() for e in store.evaluations(a.id) for r in store.task_results(e.id)}
            assert not reasons & {"timeout", "crash"}, reasons
    finally:
        ray_cluster.add_worker()
