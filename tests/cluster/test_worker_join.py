"""`dgm worker` for real: the command runs in its own process session against the shared
cluster's head, proves its sandbox, starts Ray with `ray start`, and its node joins with its
slots and without the keys of the shell it was started from. Every process `ray start` leaves
behind stays in that session, which is how the test finds them (and stops them) without
touching any other Ray on the machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import CANARY
from tests.cluster.memscan import scan_memory

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SLOTS = 3  # unlike the shared workers' 2, so the new node is told apart by its slots too
KEYS = {"OPENAI_API_KEY": CANARY, "ANTHROPIC_API_KEY": "sk-ant-canary-0001", "MY_SERVICE_TOKEN": "tok-canary-0002"}
MARK = {"DGM_TEST_MARK": "passed-on-4711"}  # a plain variable: proves the scan reads what was passed on
MARK_VALUE = b"DGM_TEST_MARK=passed-on-4711"
SECRETS = [v.encode() for v in KEYS.values()]


def dgm_worker(address: str, *options: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dgm.cli", "worker", "--address", address, *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, **KEYS, **MARK, **(env or {})})


def session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of one process session, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                out.append(int(entry.name))
    return sorted(out)


def stop_session(sid: int, grace: float = 30.0) -> None:
    """Stop what one `ray start` left running: SIGTERM (the raylet says goodbye to the head),
    then SIGKILL whatever is still there after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        for pid in session_pids(sid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while session_pids(sid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not session_pids(sid):
            return


def watch_sandboxes() -> subprocess.Popen:
    """A live stream of the sandboxes created on this machine from now on (Docker keeps only
    its last 256 events, too few on a machine where other runs start sandboxes too)."""
    return subprocess.Popen(["docker", "events", "--filter", "type=container", "--filter", "event=create",
                             "--filter", "label=dgm.sandbox=1", "--format", "{{json .Actor.Attributes}}"],
                            stdout=subprocess.PIPE, text=True)


def owners(events: subprocess.Popen) -> list[str]:
    """The owner tags of the sandboxes the stream saw; ends the stream."""
    time.sleep(1.0)  # let the daemon flush what happened just before
    events.terminate()
    out, _ = events.communicate(timeout=30)
    return [json.loads(line).get("dgm.owner", "") for line in out.splitlines() if line.strip()]


def dgm_nodes() -> dict[str, dict]:
    import ray

    return {n["NodeID"]: n for n in ray.nodes()}


def test_dgm_worker_checks_its_sandbox_joins_with_its_slots_and_leaves_the_keys_behind(ray_cluster):
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    before = set(dgm_nodes())
    events = watch_sandboxes()
    worker = dgm_worker(ray_cluster.cluster.address, "--slots", str(SLOTS), "--backend", "docker")
    sid = worker.pid
    try:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        assert out.strip() == f"joined {ray_cluster.cluster.address}: {SLOTS} sandbox slot(s) on docker; leave with 'ray stop'"
        assert any(f":{worker.pid}:" in owner for owner in owners(events)), \
            "the self-check ran a sandbox from the worker command before it joined"

        joined = [n for node_id, n in dgm_nodes().items() if node_id not in before]
        assert len(joined) == 1 and joined[0]["Alive"], joined
        node = joined[0]
        assert node["Resources"].get("dgm_sandbox") == SLOTS
        assert node["Resources"].get("CPU") == SLOTS

        @ray.remote(num_cpus=0)
        def where() -> int:
            return os.getpid()

        task_pid = ray.get(where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote(),
                           timeout=120)
        pids = session_pids(sid)
        assert task_pid in pids, "a Ray worker process of the new node is one of the processes `ray start` left"
        names = {Path(f"/proc/{pid}/exe").resolve().name for pid in pids if Path(f"/proc/{pid}/exe").exists()}
        assert "raylet" in names, names
        scan = scan_memory(pids, [MARK_VALUE, *SECRETS])
        assert scan.holders(MARK_VALUE) == set(pids), "the scan finds the variables each process was given"
        assert {s: scan.holders(s) for s in SECRETS if scan.holders(s)} == {}, \
            "a process of the worker node holds a key of the shell that started it"
    finally:
        if worker.poll() is None:
            worker.kill()
        if events.poll() is None:
            events.kill()
        stop_session(sid)
    assert session_pids(sid) == [], "a process of the worker node outlived its stop"
    deadline = time.monotonic() + 60
    while [n for node_id, n in dgm_nodes().items() if node_id not in before and n["Alive"]]:
        assert time.monotonic() < deadline, "the head still counts the stopped worker node as alive"
        time.sleep(0.5)


def test_a_worker_whose_sandbox_fails_its_check_says_so_in_one_line_and_never_joins(ray_cluster, tmp_path):
    before = set(dgm_nodes())
    worker = dgm_worker(ray_cluster.cluster.address, "--slots", "2", "--backend", "docker",
                        env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})  # Docker does not answer here
    try:
        out, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
        leftovers = session_pids(worker.pid)
        stop_session(worker.pid)
    assert worker.returncode != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dgm: error: this machine cannot host sandboxes:"), err
    assert leftovers == [], "no Ray process was started"
    assert set(dgm_nodes()) == before, "no node joined, so no slot is advertised"
