"""Fixtures of the sandbox contract suite: every test taking `backend` runs on Docker and on
bubblewrap alike (CI has both; a missing one fails rather than skips)."""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Iterator

import pytest

from dgm.sandbox import Backend, Limits, Session, open_backend
from dgm.sandbox.bwrap_backend import ROOTFS_SHAPE
from dgm.sandbox.layout import DEFAULT_IMAGE

TEST_LIMITS = Limits(
    wall_seconds=120, exec_timeout=20, memory_mb=256, pids=64, output_bytes=64 * 1024, work_mb=32, tmp_mb=32, fsize_mb=16
)
BACKENDS = [
    pytest.param("docker", marks=pytest.mark.docker),
    pytest.param("bwrap", marks=pytest.mark.bwrap),
    pytest.param("docker-foreign", marks=pytest.mark.docker),
    pytest.param("docker-warm", marks=pytest.mark.docker),
    pytest.param("bwrap-warm", marks=pytest.mark.bwrap),
]
FOREIGN_IMAGE = "dgm-foreign-test:latest"
"""The sandbox image without any of our parts (no runner, no trusted python, no user)."""


class ForeignImageBackend:
    """Docker sessions in FOREIGN_IMAGE (Limits.image): the runner and its Python injected."""

    name = "docker-foreign"

    def __init__(self, inner: Backend) -> None:
        self.inner = inner

    def start(self, limits: Limits | None = None, mounts=(), labels=None) -> Session:
        return self.inner.start(dataclasses.replace(limits or Limits(), image=FOREIGN_IMAGE), mounts, labels)

    def sweep(self, run_id: str | None = None, include_own: bool = False) -> int:
        return self.inner.sweep(run_id, include_own)

    def close(self) -> None:
        self.inner.close()


class WarmOnlyBackend:
    """Sessions that all come from the warm pool (started ahead, mounts bound late), on Docker
    or bubblewrap: the contract must hold for them exactly as for sessions started on demand."""

    def __init__(self, kind: str) -> None:
        self.name = f"{kind}-warm"
        self.inner = open_backend(kind, warm=4)
        self.shape_image = DEFAULT_IMAGE if kind == "docker" else ROOTFS_SHAPE

    def start(self, limits: Limits | None = None, mounts=(), labels=None) -> Session:
        import time

        from dgm.sandbox.warm_pool import shape_of

        limits = limits or Limits()
        shape = shape_of(self.shape_image, limits, mounts, str((labels or {}).get("run", "none")))
        pool = self.inner._pool
        assert shape is not None and pool is not None, "every session of the contract suite can be served warm"
        deadline = time.monotonic() + 180
        while pool.held(shape) == 0:  # each start asks for a warm one (evicting other shapes')
            assert time.monotonic() < deadline, "the warm pool made no sandbox of this shape in 180 s"
            self.inner.start(limits, mounts, labels).close()
            asked = time.monotonic()
            while pool.held(shape) == 0 and time.monotonic() < asked + 15:
                time.sleep(0.05)
        with pool._cond:
            waiting = {warm.session_id for warm in pool._warm[shape]}
        session = self.inner.start(limits, mounts, labels)
        assert session.id in waiting, "the session was not taken from the pool"
        return session

    def sweep(self, run_id: str | None = None, include_own: bool = False) -> int:
        return self.inner.sweep(run_id, include_own)

    def close(self) -> None:
        self.inner.close()


def build_foreign_image() -> None:
    import io

    from dgm.sandbox.docker_backend import connect

    recipe = f"FROM {DEFAULT_IMAGE}\nUSER root\nRUN rm -rf /opt/dgm && sed -i '/^dgm:/d' /etc/passwd /etc/group\n"
    connect().images.build(fileobj=io.BytesIO(recipe.encode()), tag=FOREIGN_IMAGE, rm=True, network_mode="none")


def ensure_built(name: str) -> None:
    """Build what the backend needs when missing (quick when up to date)."""
    from dgm.sandbox.image_build import build_image, build_rootfs

    if name == "docker":
        build_image(DEFAULT_IMAGE)
    else:
        build_rootfs()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "docker-foreign":
        ensure_built("docker")
        build_foreign_image()
        return ForeignImageBackend(open_backend("docker"))
    if request.param.endswith("-warm"):
        kind = request.param.removesuffix("-warm")
        ensure_built(kind)
        warm = WarmOnlyBackend(kind)
        request.addfinalizer(warm.close)
        return warm
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
