"""The warm pool: Docker sandboxes started ahead of demand, their mounts bound when taken.

The contract suite runs whole on warm sessions (the `docker-warm` backend in conftest); these
tests cover what is the pool's own: which sessions it serves, that a late-bound mount shows
exactly the host folder, that a session taken late keeps its whole wall time, that a sandbox
that died while waiting is never handed over, and that nothing outlives `close` or a hard stop.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from dgm.sandbox import Limits, Mount
from dgm.sandbox.docker_backend import SELF_END_MARGIN, DockerBackend, connect
from dgm.sandbox.layout import DEFAULT_IMAGE, owner_tag
from dgm.sandbox.warm_pool import shape_of

from tests.sandbox.conftest import TEST_LIMITS, ensure_built

pytestmark = pytest.mark.docker
LABELS = {"run": "pytest-warm"}


@pytest.fixture(scope="module")
def pool_backend():
    ensure_built("docker")
    backend = DockerBackend(DEFAULT_IMAGE, warm=2, )
    yield backend
    backend.close()


def wait_warm(backend: DockerBackend, shape, count: int = 1, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while backend._pool.held(shape) < count:
        assert time.monotonic() < deadline, "the pool made no warm sandbox in time"
        time.sleep(0.05)


def own_containers(run: str) -> list:
    return connect().containers.list(all=True, filters={"label": [f"dgm.owner={owner_tag()}", f"dgm.run={run}"]})


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
    mounts = [Mount(source, "/agent")]
    shape = shape_of(DEFAULT_IMAGE, TEST_LIMITS, mounts, LABELS["run"])
    pool_backend.start(TEST_LIMITS, mounts, LABELS).close()
    wait_warm(pool_backend, shape)
    with pool_backend.start(TEST_LIMITS, mounts, LABELS) as session:
        assert session._container.labels["dgm.purpose"] == "warm"
        run = lambda cmd: session.exec(["sh", "-c", cmd])  # noqa: E731
        assert run("cat /agent/agent.py /agent/pkg/tool.py /agent/link").stdout == b"print('hi')\nX = 1\nX = 1\n"
        assert run("test -S /agent/llm.sock").ok, "a socket is bound as itself (the gateway's)"
        assert not run("cat /agent/secret-mode").ok, "modes are the host's: a 0600 file stays closed"
        assert not run("echo x > /agent/agent.py").ok and not run("touch /agent/new").ok, "read-only"
        folder = next(Path(m["Source"]) for m in session._container.attrs["Mounts"] if m["Destination"] == "/agent")
    assert not folder.exists(), "the pool's folder goes with the session"
    assert sorted(os.listdir(source)) == ["agent.py", "link", "llm.sock", "pkg", "secret-mode"]


def test_a_session_taken_late_keeps_its_whole_wall_time(pool_backend):
    shape = shape_of(DEFAULT_IMAGE, TEST_LIMITS, [], LABELS["run"])
    pool_backend.start(TEST_LIMITS, [], LABELS).close()
    wait_warm(pool_backend, shape)
    with pool_backend.start(TEST_LIMITS, [], LABELS) as session:
        assert session._container.labels["dgm.purpose"] == "warm"
        main = session._container.attrs["Config"]["Cmd"]
        assert main == ["sleep", f"{int(TEST_LIMITS.wall_seconds + SELF_END_MARGIN + pool_backend._pool.max_idle)}s"]
        assert session._timer.interval == TEST_LIMITS.wall_seconds  # counted from the take


def test_a_sandbox_that_died_while_waiting_is_never_handed_over(pool_backend):
    limits = Limits(**{**TEST_LIMITS.__dict__, "memory_mb": 200})
    shape = shape_of(DEFAULT_IMAGE, limits, [], LABELS["run"])
    pool_backend.start(limits, [], LABELS).close()
    wait_warm(pool_backend, shape)
    waiting = pool_backend._pool._warm[shape][0]
    connect().api.remove_container(waiting.container.id, force=True)  # as a Docker restart would
    with pool_backend.start(limits, [], LABELS) as session:
        assert session.exec(["true"]).ok
        assert session._container.id != waiting.container.id


def test_close_and_hard_stop_leave_no_container(tmp_path):
    for stop in ("close", "hard stop"):
        run = f"pytest-warm-{stop.replace(' ', '-')}"
        backend = DockerBackend(DEFAULT_IMAGE, warm=2)
        shape = shape_of(DEFAULT_IMAGE, TEST_LIMITS, [], run)
        backend.start(TEST_LIMITS, [], {"run": run}).close()
        wait_warm(backend, shape)
        assert own_containers(run), "a warm container waits"
        root = backend._pool.root
        if stop == "close":
            backend.close()
        else:
            backend.sweep(include_own=True)
        assert own_containers(run) == [] and not root.exists(), stop
        assert backend._pool.take(shape) is None, "a closed pool makes and hands out nothing"
