"""One daemon per run: an advisory lock on `daemon.lock` in the run's directory."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dgm.errors import DaemonBusyError


@contextmanager
def daemon_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock; the kernel drops it when the process dies, even by kill -9, so a
    crash never leaves the run locked.

    Raises: DaemonBusyError when another process holds it.
    """
    path = run_dir / "daemon.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise DaemonBusyError(f"another 'dgm run' is working on {run_dir} (pid {handle.read().strip() or '?'})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def running_daemon(run_dir: Path) -> int | None:
    """The pid of the daemon working on the run, or None when none is (its lock is free)."""
    path = run_dir / "daemon.lock"
    if not path.exists():
        return None
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
