"""Fixtures of the sandbox contract suite: every test taking `backend` runs on Docker and on
bubblewrap alike (CI has both; a missing one fails rather than skips)."""

from __future__ import annotations

import os
from typing import Callable, Iterator

import pytest

from dgm.sandbox import Backend, Limits, Session, open_backend
from dgm.sandbox.layout import DEFAULT_IMAGE

TEST_LIMITS = Limits(
    wall_seconds=120, exec_timeout=20, memory_mb=256, pids=64, output_bytes=64 * 1024, work_mb=32, tmp_mb=32, fsize_mb=16
)
BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), pytest.param("bwrap", marks=pytest.mark.bwrap)]


def ensure_built(name: str) -> None:
    """Build what the backend needs when missing (quick when up to date)."""
    from dgm.sandbox.image_build import build_image, build_rootfs

    if name == "docker":
        build_image(DEFAULT_IMAGE)
    else:
        build_rootfs()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    ensure_built(request.param)
    return open_backend(request.param)


@pytest.fixture
def session(backend: Backend) -> Iterator[Session]:
    with backend.start(TEST_LIMITS, labels={"run": "pytest"}) as s:
        yield s


def tracker(session: Session) -> Callable[[], list[str]]:
    """A function listing what of this session still exists on the host (must be [] after close).
    Zombies are not counted: they run nothing, and reaping orphans is the host init's job."""
    if getattr(session, "backend_name", "") == "docker":
        from dgm.sandbox.docker_backend import connect

        client = connect()

        def containers() -> list[str]:
            found = client.containers.list(all=True, filters={"label": f"dgm.session={session.id}"})
            return [c.name for c in found]

        return containers
    marker = f"dgm-session={session.id}".encode()
    namespace = next(
        os.readlink(f"/proc/{pid}/ns/pid") for pid in pids() if marker in read(f"/proc/{pid}/cmdline") and read(f"/proc/{pid}/cmdline").startswith((b"python3", b"/opt/dgm/python-private"))
    )

    def processes() -> list[str]:
        alive = []
        for pid in pids():
            try:
                zombie = read(f"/proc/{pid}/stat").rsplit(b")", 1)[-1].split()[:1] == [b"Z"]
                if os.readlink(f"/proc/{pid}/ns/pid") == namespace and not zombie:
                    alive.append(read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode())
            except OSError:
                continue
        return alive

    return processes


def pids() -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit()]


def read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""
