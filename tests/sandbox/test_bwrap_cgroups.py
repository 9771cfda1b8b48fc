"""bubblewrap sessions in their own cgroup: whole-session limits, OOM classification, removal
on close and in sweeps; and the rlimit-only fallback where cgroups cannot be used."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tests.sandbox.conftest import TEST_LIMITS, ensure_built

from dgm.sandbox import Limits
from dgm.sandbox.bwrap_backend import BwrapBackend
from dgm.sandbox.cgroups import PREFIX, SWEEP_AGE, SessionCgroup

pytestmark = pytest.mark.bwrap


@pytest.fixture(scope="module")
def backend() -> BwrapBackend:
    ensure_built("bwrap")
    found = BwrapBackend()
    # CI and this machine run as root with a writable cgroupfs: cgroups must be in use
    assert found.cgroups is not None, found.limits_note
    return found


def read(path: Path) -> str:
    return path.read_text().strip()


def test_session_cgroup_holds_the_limits_and_goes_with_close(backend):
    limits = Limits(wall_seconds=60, exec_timeout=10, memory_mb=200, pids=50, cpus=0.5, work_mb=16, tmp_mb=16)
    with backend.start(limits) as session:
        group = session.cgroup
        dirs = group.unique_dirs()
        mem, pids, cpu = group.dirs["memory"], group.dirs["pids"], group.dirs["cpu"]
        if group.host.version == 1:
            assert read(mem / "memory.limit_in_bytes") == str(200 << 20)
            assert read(cpu / "cpu.cfs_quota_us") == "50000" and read(cpu / "cpu.cfs_period_us") == "100000"
        else:
            assert read(mem / "memory.max") == str(200 << 20)
            assert read(cpu / "cpu.max") == "50000 100000"
        assert read(pids / "pids.max") == "50"
        assert str(session._proc.pid) in read(mem / "cgroup.procs").split()  # bwrap itself is inside
        busy = session.exec(["python3", "-c", "while True: pass"], timeout=1)
        assert busy.timed_out and not busy.oom_killed
        throttled = dict(line.split() for line in read(cpu / "cpu.stat").splitlines())
        assert int(throttled["nr_throttled"]) > 0  # half a core: the busy loop was held back
    assert [d for d in dirs if d.exists()] == []


def test_sweep_removes_leftover_groups_and_own_sessions(backend):
    host = backend.cgroups
    stale = SessionCgroup.create(host, f"{PREFIX}stale{os.getpid()}", TEST_LIMITS)
    fresh = SessionCgroup.create(host, f"{PREFIX}fresh{os.getpid()}", TEST_LIMITS)
    old = time.time() - 2 * SWEEP_AGE
    for d in stale.unique_dirs():
        os.utime(d, (old, old))
    session = None
    try:
        session = backend.start(TEST_LIMITS)
        assert backend.sweep() >= 1  # the stale group; the live session and the fresh group stay
        assert not any(d.exists() for d in stale.unique_dirs())
        assert all(d.exists() for d in fresh.unique_dirs() + session.cgroup.unique_dirs())
        assert session.exec(["true"]).ok
        backend.sweep(include_own=True)  # a hard stop: this process's sessions go too
        assert not any(d.exists() for d in session.cgroup.unique_dirs())
        assert not session.exec(["true"]).ok
    finally:
        if session:
            session.close()
        assert fresh.remove() and stale.remove()


def test_without_cgroups_rlimits_still_bound_each_process():
    ensure_built("bwrap")
    backend = BwrapBackend(use_cgroups=False)
    assert "rlimits only" in backend.limits_note
    with backend.start(TEST_LIMITS) as session:
        assert session.cgroup is None
        result = session.exec(["python3", "-c", "x = []\nwhile True: x.append(bytearray(16 << 20))"], timeout=20)
        assert result.exit_code == 1 and b"MemoryError" in result.stderr and not result.oom_killed
