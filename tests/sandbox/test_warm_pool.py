"""The warm pool: sandboxes (Docker containers, bubblewrap sessions) started ahead of demand,
their mounts bound when taken.

The contract suite runs whole on warm sessions (the `docker-warm` and `bwrap-warm` backends in
conftest); these tests cover what is the pool's own: which sessions it serves, that a
late-bound mount shows exactly the host folder, that a session taken late keeps its whole wall
time, that a sandbox that died while waiting is never handed over, that a session in use
outlives the pool's close, and that nothing outlives `close` or a hard stop.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from dgm.sandbox import Limits, Mount, open_backend
from dgm.sandbox.bwrap_backend import MARKER, ROOTFS_SHAPE
from dgm.sandbox.docker_backend import SELF_END_MARGIN, connect
from dgm.sandbox.layout import DEFAULT_IMAGE, owner_tag
from dgm.sandbox.warm_pool import Warm, shape_of

from tests.sandbox.conftest import TEST_LIMITS, ensure_built, pids, read

LABELS = {"run": "pytest-warm"}
KINDS = [pytest.param("docker", marks=pytest.mark.docker), pytest.param("bwrap", marks=pytest.mark.bwrap)]


@pytest.fixture(scope="module", params=KINDS)
def pool_backend(request):
    ensure_built(request.param)
    backend = open_backend(request.param, warm=2)
    yield backend
    backend.close()


def shape_image(backend) -> str:
    return DEFAULT_IMAGE if backend.name == "docker" else ROOTFS_SHAPE


def wait_warm(backend, shape, count: int = 1, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while backend._pool.held(shape) < count:
        assert time.monotonic() < deadline, "the pool made no warm sandbox in time"
        time.sleep(0.05)


def take_warm(backend, limits: Limits, mounts, labels) -> tuple:
    """(a session taken from the pool, the warm sandbox it was), once one of its shape waits."""
    shape = shape_of(shape_image(backend), limits, mounts, labels["run"])
    backend.start(limits, mounts, labels).close()  # asks the pool for one of this shape
    wait_warm(backend, shape)
    waiting: Warm = backend._pool._warm[shape][0]
    session = backend.start(limits, mounts, labels)
    assert session.id == waiting.session_id, "the session was taken from the pool"
    return session, waiting


def own_containers(run: str) -> list:
    return connect().containers.list(all=True, filters={"label": [f"dgm.owner={owner_tag()}", f"dgm.run={run}"]})


def bwrap_alive(session_id: str) -> bool:
    marker = f"{MARKER}{session_id}".encode()
    return any(marker in read(f"/proc/{pid}/cmdline").split(b"\0") for pid in pids())


def host_folder(tmp_path: Path) -> Path:
    """A folder like the ones the evaluations mount: files, a sub-folder, a symlink, a socket."""
    tmp_path.chmod(0o755)
    source = tmp_path / "agent"
    (source / "pkg").mkdir(parents=True)
    (source / "agent.py").write_text("print('hi')\n")
    (source / "pkg" / "tool.py").write_text("X = 1\n")
    (source / "secret-mode").write_text("no")
    (source / "secret-mode").chmod(0o600)
    (source / "link").symlink_to("pkg/tool.py")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(source / "llm.sock"))
    source.chmod(0o755)
    (source / "pkg").chmod(0o755)
    return source


def test_only_read_only_folder_mounts_of_the_own_image_are_served_warm(tmp_path):
    folder, file = tmp_path / "d", tmp_path / "f"
    folder.mkdir()
    file.write_text("x")
    assert shape_of(DEFAULT_IMAGE, Limits(), [Mount(folder, "/task")], "r") is not None
    assert shape_of(DEFAULT_IMAGE, Limits(), [Mount(folder, "/task", read_only=False)], "r") is None
    assert shape_of(DEFAULT_IMAGE, Limits(), [Mount(file, "/task/f")], "r") is None
    assert shape_of(DEFAULT_IMAGE, Limits(image="other:latest"), [], "r") is None
    a = shape_of(DEFAULT_IMAGE, Limits(memory_mb=256), [Mount(folder, "/task")], "r")
    assert a != shape_of(DEFAULT_IMAGE, Limits(memory_mb=512), [Mount(folder, "/task")], "r")
    assert a != shape_of(DEFAULT_IMAGE, Limits(memory_mb=256), [Mount(folder, "/agent")], "r")
    assert a != shape_of(DEFAULT_IMAGE, Limits(memory_mb=256), [Mount(folder, "/task")], "other-run")


def test_a_warm_session_sees_the_host_folder_as_a_mount_would(pool_backend, tmp_path):
    source = host_folder(tmp_path)
    session, warm = take_warm(pool_backend, TEST_LIMITS, [Mount(source, "/agent")], LABELS)
    with session:
        run = lambda cmd: session.exec(["sh", "-c", cmd])  # noqa: E731
        assert run("cat /agent/agent.py /agent/pkg/tool.py /agent/link").stdout == b"print('hi')\nX = 1\nX = 1\n"
        assert run("test -S /agent/llm.sock").ok, "a socket is bound as itself (the gateway's)"
        assert run("stat -c %a /agent/secret-mode").stdout == b"600\n", "modes are the host's"
        if pool_backend.name == "docker":  # bubblewrap's sandbox user is the host's own user, mapped
            assert not run("cat /agent/secret-mode").ok, "a 0600 file of another user stays closed"
        assert not run("echo x > /agent/agent.py").ok and not run("touch /agent/new").ok, "read-only"
    assert not warm.folders[0].exists(), "the pool's folder goes with the session"
    assert sorted(os.listdir(source)) == ["agent.py", "link", "llm.sock", "pkg", "secret-mode"]


def test_a_session_taken_late_keeps_its_whole_wall_time(pool_backend):
    session, _ = take_warm(pool_backend, TEST_LIMITS, [], LABELS)
    with session:
        assert session._timer.interval == TEST_LIMITS.wall_seconds  # counted from the take
        if pool_backend.name == "docker":  # a container also ends by itself: pushed back by the wait
            main = session._container.attrs["Config"]["Cmd"]
            assert main == ["sleep", f"{int(TEST_LIMITS.wall_seconds + SELF_END_MARGIN + pool_backend._pool.max_idle)}s"]


def test_a_sandbox_that_died_while_waiting_is_never_handed_over(pool_backend):
    limits = Limits(**{**TEST_LIMITS.__dict__, "memory_mb": 200})
    shape = shape_of(shape_image(pool_backend), limits, [], LABELS["run"])
    pool_backend.start(limits, [], LABELS).close()
    wait_warm(pool_backend, shape)
    waiting = pool_backend._pool._warm[shape][0]
    if pool_backend.name == "docker":
        connect().api.remove_container(waiting.container.id, force=True)  # as a Docker restart would
    else:
        os.kill(waiting.container.init_pid, signal.SIGKILL)  # the namespace's init: all of it ends
        waiting.container.proc.wait(timeout=10)  # the kernel ends the rest a moment later; bwrap then exits
    with pool_backend.start(limits, [], LABELS) as session:
        assert session.exec(["true"]).ok
        assert session.id != waiting.session_id


@pytest.mark.parametrize("kind", KINDS)
def test_a_session_in_use_outlives_the_pools_close(kind, tmp_path):
    """`close` releases what waits, never what runs: a bubblewrap session dies with the thread
    that started it (--die-with-parent), so the pool's own thread, which ends at the close,
    must not be that thread; and the session's late-bound folder stays until it ends."""
    source = host_folder(tmp_path)
    backend = open_backend(kind, warm=1)
    session, warm = take_warm(backend, TEST_LIMITS, [Mount(source, "/agent")], LABELS)
    root = backend._pool.root
    with session:
        backend.close()
        time.sleep(0.5)
        assert session.exec(["cat", "/agent/agent.py"]).stdout == b"print('hi')\n", "the session runs on, its mount intact"
    assert not warm.folders[0].exists() and not root.exists(), "the last session out removes the pool's folder"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stop", ["close", "hard stop"])
def test_close_and_hard_stop_leave_no_sandbox(kind, stop):
    run = f"pytest-warm-{kind}-{stop.replace(' ', '-')}"
    backend = open_backend(kind, warm=2)
    shape = shape_of(shape_image(backend), TEST_LIMITS, [], run)
    backend.start(TEST_LIMITS, [], {"run": run}).close()
    wait_warm(backend, shape)
    waiting = [w.session_id for w in backend._pool._warm[shape]]
    left = (lambda: own_containers(run)) if kind == "docker" else (lambda: [s for s in waiting if bwrap_alive(s)])
    assert left(), "a warm sandbox waits"
    root = backend._pool.root
    if stop == "close":
        backend.close()
    else:
        backend.sweep(include_own=True)
    assert left() == [] and not root.exists(), stop
    assert backend._pool.take(shape) is None, "a closed pool makes and hands out nothing"
