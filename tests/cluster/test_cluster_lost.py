"""The whole Ray cluster lost in the middle of a run: its head killed with -9 while an agent
runs on it. The run must say so in one line and stop at once (Ray itself would wait a minute,
then end the process), keep everything it finished, and resume on this machine's own sandboxes.

This cluster is the test's own (one small node that is head and sandbox node at once), since
killing the shared one would end every other cluster test."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.cluster.conftest import STORE
from tests.loop.conftest import CANARY, dgm, write_config

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUN = "cluster-lost-mid-run"  # the run's name, which labels its sandboxes


@pytest.fixture
def doomed_cluster():
    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": STORE, "include_dashboard": False, "resources": {"dgm_sandbox": 2}})
    try:
        yield cluster
    finally:
        cluster.shutdown()


def containers(run: str, *filters: str) -> list[str]:
    argv = ["docker", "ps", "-aq", "--filter", f"label=dgm.run={run}"]
    for f in filters:
        argv += ["--filter", f"label={f}"]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


def finished(run_dir) -> dict:
    """What the run has finished: each agent's status and score, and each done job."""
    from dgm.archive import Archive

    with Archive.open(run_dir, readonly=True) as store:
        agents = {a.id: (a.status, a.score) for a in store.agents() if a.status in ("evaluated", "invalid")}
        jobs = {j.id: j.payload for j in store.jobs() if j.state == "done"}
        return {"agents": agents, "jobs": jobs, "states": sorted(j.state for j in store.jobs())}


def test_a_cluster_lost_mid_run_is_one_line_keeps_what_finished_and_resumes_locally(doomed_cluster, tmp_path):
    config = write_config(tmp_path / f"{RUN}.toml", iterations=2)
    config.write_text(config.read_text().replace('name = "scripted:dry-run"', 'name = "scripted:dry-run"\nscripted_latency = 0.5'))
    run_dir = tmp_path / RUN
    dgm("init", str(run_dir), "--config", str(config), check=True)

    daemon = subprocess.Popen([sys.executable, "-m", "dgm.cli", "run", "--run", str(run_dir), "--executor", "ray",
                               "--ray-address", doomed_cluster.address],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "OPENAI_API_KEY": CANARY})
    try:
        deadline = time.monotonic() + 120
        while not containers(RUN, "dgm.purpose=agent"):
            assert daemon.poll() is None, daemon.communicate()
            assert time.monotonic() < deadline, "no agent ever ran on the cluster"
            time.sleep(0.2)
        time.sleep(1.0)  # the agent is at work when its cluster goes
        doomed_cluster.head_node.kill_all_processes(check_alive=False, allow_graceful=False)
        lost_at = time.monotonic()
        out, err = daemon.communicate(timeout=120)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert time.monotonic() - lost_at < 45, "the run stopped at once, before Ray's own minute of waiting"
    assert daemon.returncode == 2, (out, err)
    assert err.strip().splitlines() == [err.strip()] and err.startswith("dgm: error: lost the Ray cluster: its head at "), err
    assert "resume on the next 'dgm run'" in err

    before = finished(run_dir)
    assert before["agents"], "the seed's evaluation had finished before the loss"
    assert "running" in before["states"], "the job the loss interrupted waits to resume, not failed"
    assert "failed" not in before["states"]
    verify = dgm("archive", "verify", "--run", str(run_dir))
    assert verify.returncode == 0, verify.stdout + verify.stderr

    resumed = dgm("run", "--run", str(run_dir), timeout=300)  # the local executor: run.toml's own
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = finished(run_dir)
    assert {a: after["agents"][a] for a in before["agents"]} == before["agents"], "nothing finished was lost or redone"
    assert {j: after["jobs"][j] for j in before["jobs"]} == before["jobs"]
    assert after["states"] == ["done"] * len(after["states"]) and len(after["agents"]) == 3
    assert dgm("archive", "verify", "--run", str(run_dir)).returncode == 0
    assert containers(RUN) == [], "the sandbox the lost cluster left behind was swept by the resumed run"
