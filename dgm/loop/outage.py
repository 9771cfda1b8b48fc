"""The daemon across an outage of its sandbox backend (a Docker daemon stopped or restarting).

A job cut short by the outage is not the agent's failure: it stays 'running' in the jobs
table and is re-queued once the backend answers again (its iteration is idempotent on what
it finished, and an evaluation is recorded only once graded whole). Meanwhile the daemon
starts no job; it says so once (an event, shown by `dgm status`), waits with backoff up to
the configured limit, then continues, or drains and stops with one line.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from dgm.archive.contract import RunStore
    from dgm.sandbox import Backend


MAX_ATTEMPTS = 3
"""Claims of one job that outages may cut short. The backend's answer cannot always tell a
restart from agent code ending its own container (both leave the container gone and the
daemon answering), so a job lost this often is recorded as failed instead of looping."""


class Outage:
    """What the daemon knows of its backend's health; thread-safe (jobs report from workers)."""

    def __init__(self, backend: Backend, archive: RunStore, limit_seconds: float) -> None:
        self.backend = backend
        self.archive = archive
        self.limit_seconds = limit_seconds
        self._lock = threading.Lock()
        self._since = 0.0
        self.interrupted = 0

    @property
    def active(self) -> bool:
        return bool(self._since)

    def gives_up(self, attempts: int) -> bool:
        """Whether a job claimed `attempts` times is lost too often to be re-queued again."""
        return attempts >= MAX_ATTEMPTS

    def report(self, iteration: int, exc: BaseException, what: str = "") -> None:
        """A job lost its sandbox to the backend: the first report of an outage says so once."""
        with self._lock:
            self.interrupted += 1
            if self._since:
                return
            self._since = time.monotonic()
        self.archive.log_event(
            "outage",
            f"the sandbox backend stopped answering ({what or f'iteration {iteration}'}: {exc}); no new child starts; "
            f"interrupted children resume when it is back (waiting up to {self.limit_seconds / 60:g} min)",
        )

    def wait(self, stopping: Callable[[], bool]) -> str:
        """Once no job is in flight: wait (backoff 0.5 s doubling to 15 s) for the backend.
        Returns '' when it is back (the interrupted jobs are re-queued), else why the run stops."""
        from dgm.sandbox import wait_for_backend

        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                if stopping():
                    stop.set()
                stop.wait(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            back = wait_for_backend(self.backend, max(0.0, self._since + self.limit_seconds - time.monotonic()), stop)
        finally:
            stopped_by_signal = stop.is_set()
            stop.set()
            watcher.join()
        if not back:
            if stopped_by_signal:
                return "stopped by a signal while the sandbox backend was away"
            reason = f"the sandbox backend did not come back within {self.limit_seconds / 60:g} min; the {self.interrupted} interrupted child(ren) resume on the next 'dgm run'"
            self.archive.log_event("outage", reason)
            return reason
        requeued = self.archive.requeue_running()
        self.archive.log_event("outage", f"the sandbox backend answers again after {time.monotonic() - self._since:.0f}s; re-queued {requeued} interrupted child(ren)")
        with self._lock:
            self._since = 0.0
            self.interrupted = 0
        return ""
