"""Sandboxes started ahead of demand, so that a session's start costs no sandbox start.

Starting a Docker container costs the engine about 0.15-0.3 s of CPU, a bubblewrap session
about 0.03 s. With dozens of agents in flight on a small host, the starts of an evaluation's
tasks (which begin together) queue for seconds (Docker) or tenths of a second (bubblewrap)
while the CPU is otherwise idle, waiting for the model. The pool starts a replacement for
every sandbox taken, in one background thread, while the agents wait; the next session of
the same shape then only has to be handed over. The backends give the pool three hooks:
make, discard, and whether a waiting one still answers.

A warm sandbox is made for a shape: the image, the limits, the run it belongs to, and the
sandbox paths of its mounts. Only read-only directory mounts can be bound late: each is backed
by a private empty folder of the pool's, and when a session takes the sandbox, the files of the
folder it asked for are linked (or copied) into that folder, which the container sees at once
because a bind mount shows its folder's later contents. What is not poolable (writable or file
mounts, foreign images) starts cold, as before.

A warm sandbox waits at most `max_idle` seconds; the container's own end (its main process)
is pushed back by as much, so a session taken late still gets its whole wall time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from dgm.sandbox.base import Limits, Mount


@dataclass(frozen=True)
class Shape:
    """What a warm sandbox must match to serve a session."""

    image: str
    limits: Limits
    run: str
    targets: tuple[str, ...]
    """Sandbox paths of the (read-only directory) mounts, in order."""


@dataclass
class Warm:
    """A started sandbox with its runner answering, and the pool folders behind its mounts."""

    session_id: str
    container: Any
    """The backend's handle: a Docker container, or a started bubblewrap process."""
    channel: Any
    """The channel to its runner."""
    folders: list[Path]
    made: float = field(default_factory=time.monotonic)


def runner_answers(warm: Warm) -> bool:
    """Whether a warm sandbox's runner still answers (it may have died while it waited)."""
    from dgm.sandbox.protocol import ChannelClosed, ChannelTimeout, ReplyTooLarge

    try:
        warm.channel.request({"op": "ping"}, b"", time.monotonic() + 5, 0)
    except (ChannelClosed, ChannelTimeout, ReplyTooLarge, OSError):
        return False
    return True


def shape_of(image: str, limits: Limits, mounts: Sequence[Mount], run: str) -> Shape | None:
    """The session's shape, or None when it cannot be served warm."""
    if limits.image is not None or limits.workspace_source is not None:
        return None
    if not all(m.read_only and Path(m.host_path).is_dir() for m in mounts):
        return None
    return Shape(image, limits, run, tuple(m.sandbox_path for m in mounts))


def new_folders(root: Path, count: int) -> list[Path]:
    """Private empty folders (0700, root's): nothing is visible through them until a take."""
    return [Path(tempfile.mkdtemp(prefix="m-", dir=root)) for _ in range(count)]


def bind_late(folders: Sequence[Path], mounts: Sequence[Mount]) -> None:
    """Make each folder show what its mount's host folder holds: the same tree, the same modes,
    the files hard-linked (copied when the host folder is on another file system; a socket
    cannot be copied, so that raises).

    Raises: OSError when a file can be neither linked nor copied.
    """
    for folder, mount in zip(folders, mounts):
        source = Path(mount.host_path).resolve()
        for top, dirs, files in os.walk(source, followlinks=False):
            rel = Path(top).relative_to(source)
            here = folder / rel
            if rel != Path("."):
                here.mkdir()
            for name in [*files, *(d for d in dirs if (Path(top) / d).is_symlink())]:
                _place(Path(top) / name, here / name)
            dirs[:] = [d for d in dirs if not (Path(top) / d).is_symlink()]
            os.chmod(here, stat.S_IMODE(os.stat(top).st_mode))


def _place(src: Path, dst: Path) -> None:
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        if not src.is_file():
            raise
        shutil.copy2(src, dst)


class WarmPool:
    """At most `size` warm sandboxes, made by `make(shape, folders)` in one background thread.

    `take` hands over a warm sandbox of the shape (or None) and asks for a replacement; `close`
    stops the making and discards what is left.
    """

    def __init__(self, make: Callable[[Shape, list[Path]], Warm], discard: Callable[[Warm], None],
                 alive: Callable[[Warm], bool], size: int, max_idle: float = 900.0) -> None:
        self.size = size
        self.max_idle = max_idle
        self.root = Path(tempfile.mkdtemp(prefix="dgm-warm-"))
        self.root.chmod(0o711)  # the sandbox user passes through to the mounts, lists nothing
        self._make, self._discard, self._alive = make, discard, alive
        self._warm: dict[Shape, deque[Warm]] = {}
        self._wanted: deque[Shape] = deque()
        self._making = 0
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._fill, name="dgm-warm-pool", daemon=True)
        self._thread.start()

    def take(self, shape: Shape) -> Warm | None:
        """A live warm sandbox of `shape`, or None; either way a replacement is asked for."""
        while True:
            evicted = None
            with self._cond:
                if self._closed:
                    return None
                queue = self._warm.get(shape)
                warm = queue.popleft() if queue else None
                if self._count() >= self.size:
                    evicted = self._oldest()  # room for the shape in demand now
                if self._count() < self.size:
                    self._wanted.append(shape)
                    self._cond.notify_all()
            if evicted is not None:
                self.discard(evicted)
            if warm is None:
                return None
            if self._alive(warm):
                return warm
            self.discard(warm)  # died while idle (the engine restarted): try the next one

    def serve(self, shape: Shape | None, mounts: Sequence[Mount]) -> Warm | None:
        """A warm sandbox of `shape` whose folders now show `mounts`, or None (start one cold).
        A sandbox whose folders cannot be filled is discarded."""
        warm = self.take(shape) if shape is not None else None
        if warm is None:
            return None
        try:
            bind_late(warm.folders, mounts)
        except OSError:
            self.discard(warm)
            return None
        return warm

    def held(self, shape: Shape | None = None) -> int:
        """Warm sandboxes ready now (of `shape`, or of any)."""
        with self._cond:
            if shape is not None:
                return len(self._warm.get(shape, ()))
            return sum(len(q) for q in self._warm.values())

    def close(self) -> None:
        """Stop making sandboxes; discard the warm ones and wait for one being made."""
        with self._cond:
            self._closed = True
            left = [w for q in self._warm.values() for w in q]
            self._warm.clear()
            self._wanted.clear()
            self._cond.notify_all()
        for warm in left:
            self.discard(warm)
        self._thread.join(timeout=30)
        self._remove_root()

    def _remove_root(self) -> None:
        """The pool's folder goes once nothing is in it: sessions taken from the pool keep
        theirs (in use, untouched by a close) until they end, and the last one removes it."""
        with contextlib.suppress(OSError):
            self.root.rmdir()

    def _count(self) -> int:
        return sum(len(q) for q in self._warm.values()) + len(self._wanted) + self._making

    def _fill(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or bool(self._wanted), timeout=5.0)
                if self._closed:
                    return
                stale = self._expire()
                shape = self._wanted.popleft() if self._wanted else None
                if shape is not None:
                    self._making += 1
            for old in stale:
                self.discard(old)
            if shape is not None:
                self._make_one(shape)

    def _make_one(self, shape: Shape) -> None:
        folders: list[Path] = []
        made = None
        try:
            folders = new_folders(self.root, len(shape.targets))
            made = self._make(shape, folders)
        except Exception:  # noqa: BLE001 - a failed start is the cold path's to report
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)
            time.sleep(1.0)  # the engine may be restarting: do not spin
        with self._cond:
            self._making -= 1
            kept = made is not None and not self._closed
            if made is not None and kept:
                self._warm.setdefault(shape, deque()).append(made)
        if made is not None and not kept:
            self.discard(made)

    def _oldest(self) -> Warm | None:
        queues = [q for q in self._warm.values() if q]
        if not queues:
            return None
        return min(queues, key=lambda q: q[0].made).popleft()

    def _expire(self) -> list[Warm]:
        now, stale = time.monotonic(), []
        for queue in self._warm.values():
            while queue and now - queue[0].made > self.max_idle:
                stale.append(queue.popleft())
        return stale

    def discard(self, warm: Warm) -> None:
        """Remove a warm sandbox: its container or process (through the backend), then its folders."""
        try:
            self._discard(warm)
        finally:
            self.release(warm)

    def release(self, warm: Warm) -> None:
        """Remove the folders behind a sandbox's mounts (a session taken from the pool calls
        this when it ends); after the pool's close, the pool's own folder goes with the last."""
        for folder in warm.folders:
            shutil.rmtree(folder, ignore_errors=True)
        with self._cond:
            closed = self._closed
        if closed:
            self._remove_root()
