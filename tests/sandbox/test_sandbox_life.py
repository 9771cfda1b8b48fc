"""Sandboxes outlive no one, and sweeps of several dgm processes on one engine never hurt
each other: real processes killed with kill -9, real containers, real bwrap namespaces."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from dgm.sandbox import open_backend
from dgm.sandbox.docker_backend import SELF_END_MARGIN, _listed, container_config
from dgm.sandbox.layout import DEFAULT_IMAGE, LABEL, host_identity, owner_alive, owner_tag
from tests.processes import owned_containers, wait_for
from tests.sandbox.conftest import ensure_built, pids, read

ROOT = Path(__file__).parents[2]

OWNER = textwrap.dedent(
    """
    import sys, time
    from dgm.sandbox import Limits, open_backend
    backend = open_backend(sys.argv[1])
    session = backend.start(Limits(wall_seconds=float(sys.argv[2]), exec_timeout=5), labels={"run": "pytest-life"})
    print(session.id, flush=True)
    session.exec(["sleep", "3600"], timeout=3600)
    """
)


def start_owner(backend: str, wall: float) -> tuple[subprocess.Popen, str]:
    """A separate process that starts one session and hangs in it; (process, session id)."""
    proc = subprocess.Popen([sys.executable, "-c", OWNER, backend, str(wall)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    session_id = proc.stdout.readline().strip()
    assert session_id, "the owner process could not start a session"
    return proc, session_id


def session_processes(session_id: str) -> list[str]:
    marker = f"dgm-session={session_id}".encode()
    return [pid for pid in pids() if marker in read(f"/proc/{pid}/cmdline")]


@pytest.mark.docker
@pytest.mark.slow
def test_docker_sandbox_of_a_killed_owner_ends_by_itself():
    ensure_built("docker")
    proc, _ = start_owner("docker", wall=5)
    assert owned_containers(proc.pid)
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(2)
    assert owned_containers(proc.pid), "nothing removed it yet: the test would prove nothing"
    wait_for(lambda: not owned_containers(proc.pid), 5 + SELF_END_MARGIN + 10, "the container to end by itself")
    took = time.monotonic() - killed_at
    assert took >= 5, "it ended by its deadline, not at once"


@pytest.mark.bwrap
def test_bwrap_sandbox_dies_with_its_owner_and_the_sweep_takes_its_cgroup():
    ensure_built("bwrap")
    proc, session_id = start_owner("bwrap", wall=600)
    assert session_processes(session_id)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wait_for(lambda: not session_processes(session_id), 5, "the session's processes to die with their owner")
    backend = open_backend("bwrap")
    if backend.cgroups is not None:  # the empty group is left; a sweep takes it (at once when named)
        from dgm.sandbox.cgroups import PREFIX
        from dgm.sandbox.cgroups import sweep as sweep_cgroups

        groups = [p / f"{PREFIX}{session_id}" for p in backend.cgroups.parent_dirs()]
        assert any(g.is_dir() for g in groups)
        assert f"{PREFIX}{session_id}" in sweep_cgroups(backend.cgroups, also={session_id})
        assert not any(g.is_dir() for g in groups)


@pytest.fixture(scope="module")
def docker_backend():
    ensure_built("docker")
    return open_backend("docker")


def make_containers(backend, owner: str, n: int, run: str = "pytest-life") -> list[str]:
    """n created (not started) containers that carry `owner` as their owner tag."""
    from dgm.sandbox import Limits

    ids = []
    for _ in range(n):
        labels = {LABEL: "1", "dgm.session": "life", "dgm.owner": owner, "dgm.run": run}
        config = container_config(DEFAULT_IMAGE, Limits(wall_seconds=30), (), labels, None)
        config.pop("detach")
        ids.append(backend.client.api.create_container(
            config.pop("image"), command=config.pop("command"), labels=labels,
            host_config=backend.client.api.create_host_config(auto_remove=True, network_mode="none"),
        )["Id"])  # fmt: skip
    return ids


def dead_owner() -> str:
    done = subprocess.Popen(["true"])
    done.wait()
    return f"{host_identity()}:{done.pid}:0"


@pytest.mark.docker
def test_two_sweeps_at_once_tolerate_containers_vanishing_under_them(docker_backend):
    ids = make_containers(docker_backend, dead_owner(), 8)
    counts, errors = [], []

    def sweep() -> None:
        try:
            counts.append(docker_backend.sweep("pytest-life"))
        except Exception as exc:  # the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(counts) == 3 and all(0 <= c <= 8 for c in counts)
    # every container is counted by some sweep; Docker may confirm one to two sweeps
    # (a removal that finds its container removed since its lookup answers success)
    assert sum(counts) >= 8
    left = {cid for cid, _ in _listed(docker_backend.client)}
    assert not left & set(ids)


@pytest.mark.docker
def test_sweep_spares_live_owners_here_and_every_owner_elsewhere(docker_backend):
    live = subprocess.Popen(["sleep", "60"])
    try:
        with open(f"/proc/{live.pid}/stat", "rb") as f:
            start = f.read().rsplit(b")", 1)[1].split()[19].decode()
        live_tag = f"{host_identity()}:{live.pid}:{start}"
        other_host = "elsewhere.0000.1:1:1"
        ids = make_containers(docker_backend, live_tag, 1) + make_containers(docker_backend, other_host, 1)
        assert owner_alive(live_tag) and owner_alive(other_host) and not owner_alive(dead_owner())
        docker_backend.sweep()
        left = {cid for cid, _ in _listed(docker_backend.client)}
        assert set(ids) <= left
    finally:
        live.kill()
        live.wait()
    docker_backend.sweep()
    left = {cid for cid, _ in _listed(docker_backend.client)}
    assert ids[0] not in left, "its owner is gone now"
    assert ids[1] in left, "another host's owner is never judged by local pids"
    docker_backend.client.api.remove_container(ids[1], force=True)


def test_owner_tag_names_host_boot_and_pid_namespace():
    host, pid, start = owner_tag().rsplit(":", 2)
    assert host == host_identity() and int(pid) == os.getpid() and start.isdigit()
    assert os.uname().nodename in host
