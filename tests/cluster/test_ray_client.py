"""`dgm run` outside the cluster, as a Ray Client (`ray://`), and the pull-based LLM relay
that makes it work: requests wait in a bridge actor, the head pulls them and answers through
its own gateway. Real Ray, real Docker, real SQLite and git; only the model is scripted."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import CANARY, node_pids
from tests.cluster.memscan import scan_memory
from tests.loop.conftest import new_run

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DRIVER = """import json, sys
from pathlib import Path

import ray

from dgm.loop.daemon import Daemon, StopConditions
from dgm.loop.run import open_run

with open_run(Path(sys.argv[1])) as ctx:
    client = ray.util.client.ray.is_connected()
    Daemon(ctx, StopConditions(max_iterations=ctx.config.loop.max_iterations)).run()
    print(json.dumps({"client": client, "relayed": ctx.backend.relayed, "socket": str(ctx.gateway.socket_path),
                      "placed": [[p.node_id, p.labels.get("purpose")] for p in ctx.backend.placements]}))
"""


def test_a_driver_outside_the_cluster_runs_a_dry_run_through_ray_client(ray_cluster, tmp_path):
    from dgm.archive import Archive

    from tests.cluster.test_ray_cluster import lineage, run_in_process

    extra = f'[executor]\nkind = "ray"\naddress = "{ray_cluster.client_address}"\n'
    on_client = new_run(tmp_path, "client", iterations=2, extra=extra)
    # The driver's temporary files, the gateway's socket among them, go to a tmpfs of its own
    # mount namespace: out of every node's reach, as on a machine outside the cluster.
    private = Path(tempfile.mkdtemp(prefix="dgm-head-", dir="/tmp"))  # short: a socket path has a limit
    shell = 'mount -t tmpfs none "$1" && shift && exec "$@"'
    try:
        done = subprocess.run(["unshare", "--mount", "sh", "-c", shell, "sh", str(private), sys.executable, "-c", DRIVER, str(on_client)],
                              capture_output=True, text=True, timeout=600, env={**os.environ, "TMPDIR": str(private)})
    finally:
        private.rmdir()
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["client"], "the driver was a Ray Client, not a node of the cluster"
    assert seen["socket"].startswith(str(private)) and not Path(seen["socket"]).exists(), \
        "the gateway's socket was out of every node's reach (in the driver's own mount namespace)"
    workers = {w.node_id for w in ray_cluster.workers}
    assert {node for node, _ in seen["placed"]} == workers, "task runs land on both workers, and only there"
    assert {purpose for _, purpose in seen["placed"]} >= {"agent", "grade"}
    with Archive.open(on_client, readonly=True) as store:
        assert len(store.agents()) == 3, "the seed and two children"
        assert [j.state for j in store.jobs()] == ["done"] * 3
        calls = store.llm_calls()
        assert {"diagnose", "self-modify", "solve"} <= {row.purpose for row in calls}
        relayed = [row for row in calls if row.purpose != "diagnose"]
        assert relayed and all(row.outcome == "ok" for row in relayed), [(r.purpose, r.outcome) for r in relayed]
        assert seen["relayed"] == len(relayed), "every call from an agent came through the pulled relay"
        assert store.verify().ok
    local = new_run(tmp_path, "local", iterations=2)
    run_in_process(local)
    assert lineage(on_client) == lineage(local), "the same seed gives the same lineage and scores"
    workers_pids = [pid for worker in ray_cluster.workers for pid in node_pids(worker)]
    scan = scan_memory(workers_pids, [CANARY.encode()])
    assert scan.bytes_read > 0 and scan.holders(CANARY.encode()) == set(), "a worker process held the provider key in its memory"


def test_ctrl_c_on_a_ray_client_run_drains_it_and_closes_the_relay(ray_cluster, tmp_path):
    from dgm.archive import Archive

    # Far more iterations than the test waits for: on a loaded machine, `dgm cluster` through
    # Ray Client may take a minute to connect, and the run must still be going when it does.
    run_dir, daemon = _daemon_with_an_agent_at_work(tmp_path, "stopped", ray_cluster.client_address, iterations=60)
    try:
        started = time.monotonic()
        tries = []  # (seconds in, how long `dgm cluster` took, backend per node): the story of a failure
        while True:  # a host that is still starting shows no backend yet
            asked = time.monotonic()
            seen = subprocess.run([sys.executable, "-m", "dgm.cli", "cluster", "--address", ray_cluster.client_address, "--json"],
                                  capture_output=True, text=True, timeout=120)
            backends = {node["node_id"]: node["backend"] for node in json.loads(seen.stdout)}
            tries.append((round(asked - started), round(time.monotonic() - asked), sorted(backends.values())))
            if all(backends[w.node_id] == "docker" for w in ray_cluster.workers):
                break  # `dgm cluster` through Ray Client sees the run's hosts on the workers
            assert daemon.poll() is None and time.monotonic() < started + 240, (tries, seen.stdout, seen.stderr[-2000:])
            time.sleep(2)
        daemon.send_signal(signal.SIGINT)
        out, err = daemon.communicate(timeout=240)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert daemon.returncode == 0, err[-3000:]
    assert "drained after a stop signal" in out
    with Archive.open(run_dir, readonly=True) as store:
        assert len(store.agents()) < 61, "the stop ended the run early"
        assert all(j.state == "done" for j in store.jobs()), "what was in flight finished"
        assert store.verify().ok
    assert not subprocess.run(["docker", "ps", "-aq", "--filter", "label=dgm.run=stopped"],
                              capture_output=True, text=True).stdout.split(), "no sandbox left on the workers"


def _daemon_with_an_agent_at_work(tmp_path: Path, name: str, address: str, iterations: int,
                                  extra: str = "") -> tuple[Path, subprocess.Popen]:
    """`dgm run` on the cluster through `address`, with a slow scripted model, once an agent
    on a worker has talked to the model through the relay."""
    from tests.loop.conftest import write_config

    config = write_config(tmp_path / f"{name}.toml", iterations=iterations,
                          extra=f'[executor]\nkind = "ray"\naddress = "{address}"\n{extra}')
    config.write_text(config.read_text().replace('name = "scripted:dry-run"', 'name = "scripted:dry-run"\nscripted_latency = 0.3'))
    run_dir = tmp_path / name
    subprocess.run([sys.executable, "-m", "dgm.cli", "init", str(run_dir), "--config", str(config)], check=True, capture_output=True)
    daemon = subprocess.Popen([sys.executable, "-m", "dgm.cli", "run", "--run", str(run_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not _solve_calls(run_dir):
        if time.monotonic() > deadline or daemon.poll() is not None:
            daemon.kill()
            out, err = daemon.communicate()
            raise AssertionError(f"no agent reached the model through the relay:\n{out}\n{err[-3000:]}")
        time.sleep(0.3)
    return run_dir, daemon


def _solve_calls(run_dir: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{run_dir / 'archive.db'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM llm_calls WHERE purpose = 'solve'").fetchone()[0]
    except sqlite3.Error:
        return 0


# -- the relay's parts, on the real cluster -----------------------------------------------------

def _bridge(**limits):
    import ray

    from dgm.cluster.bridge import BridgeLimits, GatewayBridge

    return ray.remote(GatewayBridge).options(num_cpus=0, max_concurrency=100).remote(BridgeLimits(**limits))


def _relay(bridge):
    from dgm.cluster.node_host import RelayService

    return RelayService(bridge, max_request_bytes=10_000, timeout=30)


def test_a_request_the_head_never_takes_ends_with_502_not_a_hang(ray_cluster):
    import ray

    bridge = _bridge(head_silence=1.5)
    ray.get(bridge.__ray_ready__.remote(), timeout=120)  # the clock is the relay's, not a worker's start
    started = time.monotonic()
    status, body = _relay(bridge).serve("tok", b"{}", 2)
    assert status == 502 and body["error"]["code"] == "gateway_unreachable"
    assert time.monotonic() - started < 10


def test_a_full_queue_answers_503_and_closing_ends_what_waits_with_502(ray_cluster):
    import ray

    bridge = _bridge(max_queued=1, queue_wait=0.5, head_silence=60)
    calls = [bridge.request.remote("chat", "tok", b"{}", 2) for _ in range(2)]  # an async actor takes them in any order
    [refused], [queued] = ray.wait(calls, num_returns=1, timeout=20)
    assert ray.get(refused)[0] == 503, "no room in the queue: busy, at once"
    assert ray.get(bridge.close.remote()) == 1
    assert ray.get(queued, timeout=10)[0] == 502, "the head left: what waited ends"
    assert ray.get(bridge.request.remote("chat", "tok", b"{}", 2), timeout=10)[0] == 502, "a closed bridge answers at once"


def test_the_head_pulls_requests_through_its_gateway_and_stops_on_close(ray_cluster, tmp_path):
    import json as json_

    import ray

    from dgm.archive import Archive
    from dgm.cluster.head_relay import HeadRelay
    from dgm.config import dump_config
    from dgm.llm import Gateway, ScriptedModel
    from tests.llm.conftest import make_config, token_of

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.toml").write_text(dump_config(make_config()), encoding="utf-8")
    model = ScriptedModel(["one", "two"], name="scripted:dry-run")
    with Archive.create(run_dir) as store, Gateway(model, make_config(), store) as gateway, \
            gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
        bridge = _bridge()
        head = HeadRelay(bridge, gateway, workers=2)
        relay = _relay(bridge)
        chat = json_.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
        token = token_of(mounts)
        status, body = relay.serve(token, chat, len(chat))
        assert (status, body["choices"][0]["message"]["content"]) == (200, "one")
        assert relay.serve("forged", chat, len(chat))[0] == 401, "the token is checked on the head"
        assert relay.serve(token, None, 10**9)[0] == 413, "an oversized body is refused by the gateway's rule"
        assert relay.models(token)[0] == 200
        assert [(r.agent_id, r.purpose, r.outcome) for r in store.llm_calls()][0] == ("a1", "solve", "ok")

        started = time.monotonic()
        head.close()
        assert time.monotonic() - started < 5 and not head._thread.is_alive(), "the poller stops at once"
        assert relay.serve(token, chat, len(chat))[0] == 502, "after the head closed: 502, not a hang"
        ray.kill(bridge)
        assert relay.serve(token, chat, len(chat))[0] == 502, "a bridge that is gone: 502"
        assert len(model.calls) == 1, "nothing reached the model after the close"


def _client_server(ray_cluster, port: int) -> subprocess.Popen:
    """A Ray Client server of the test's own on the cluster's head, so its link can be cut."""
    from ray._private.services import start_ray_client_server

    head = ray_cluster.cluster.head_node
    return start_ray_client_server(head.address, "127.0.0.1", port, runtime_env_agent_address=head.runtime_env_agent_address,
                                   node_id=head.node_id).process


def _cut(server: subprocess.Popen) -> None:
    """The link gone at once: the proxy and the driver's server behind it killed."""
    from tests.cluster.conftest import descendants

    for pid in descendants(server.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.wait()


@pytest.mark.parametrize("back", [False, True], ids=["stays-away", "comes-back"])
def test_a_broken_ray_client_link_is_an_outage_never_the_agents_failure(ray_cluster, tmp_path, back):
    """The link between `dgm run` and the cluster breaks mid-run (its Ray Client server is
    killed). Nothing is recorded as failed: if the link comes back, `dgm run` connects again
    and the run finishes; if not, it stops with one line once the outage wait is over, and
    what was cut short resumes on the next start."""
    from dgm.archive import Archive
    from dgm.cluster.ray_backend import RayBackend
    from tests.cluster.conftest import free_port

    port = free_port()
    server, daemon = _client_server(ray_cluster, port), None
    wait = 3 if back else 0.1
    try:
        run_dir, daemon = _daemon_with_an_agent_at_work(tmp_path, "cut", f"ray://127.0.0.1:{port}", iterations=2,
                                                        extra=f"\n[sandbox]\noutage_wait_minutes = {wait}\n")
        _cut(server)
        if back:  # past Ray Client's own 30 s grace period (a shorter break, Ray rides out itself)
            time.sleep(40)
            server = _client_server(ray_cluster, port)
        out, err = daemon.communicate(timeout=400)
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        _cut(server)
        RayBackend(backend="docker").sweep("cut")  # what the broken link left on the workers
    assert "Traceback" not in err, err[-3000:]
    with Archive.open(run_dir, readonly=True) as store:
        jobs = store.jobs()
        assert all(job.state != "failed" and not job.error for job in jobs), [(j.kind, j.state, j.error) for j in jobs]
        outages = [e.message for e in store.events(limit=500) if e.kind == "outage"]
        assert outages and "stopped answering" in outages[0], (outages, out)
        assert store.verify().ok
        if back:
            assert daemon.returncode == 0 and "stopped: reached 2 iterations" in out, out + err
            assert "answers again" in outages[-1], outages
            assert [job.state for job in jobs] == ["done"] * 3
            assert len(store.agents()) == 3
        else:
            assert "stopped: the sandbox backend did not come back within 0.1 min" in out, out + err
            assert daemon.returncode == 2, "a run whose cluster stays away ends non-zero"
            assert "did not come back" in outages[-1], outages
            assert any(job.state in ("queued", "running") for job in jobs), "what was cut short resumes later"
