"""Signal wiring of the commands that start sandboxes (`eval`, `sandbox check`).

The first SIGINT, SIGTERM or SIGHUP asks the component to stop: it sets `event` (the
component watches it and winds down) or, for a command that works in its main thread,
raises `Interrupted` there. A second signal stops at once: this process's sandboxes are
removed (the backend's hard stop) and the process exits without joining its threads.
The exit code is 128 + the first signal's number (130, 143, 129).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgm.sandbox import Backend

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """Raised in the main thread by the first signal when the command asked for it. A
    BaseException, so no `except Exception` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class StopOnSignal:
    """Context manager installing the handlers (and restoring the old ones on exit)."""

    def __init__(self, raise_first: bool = False) -> None:
        self.raise_first = raise_first
        self.event = threading.Event()
        self.signum = 0
        self.backend: Backend | None = None
        """Set once the command has a backend: the second signal's hard stop removes its sandboxes."""
        self._old: dict[int, Any] = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum else 1

    def __enter__(self) -> "StopOnSignal":
        for signum in SIGNALS:
            self._old[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)

    def hard_stop(self) -> int:
        """Remove every sandbox of this process; how many were removed (0 when unknown)."""
        from dgm.sandbox import SandboxError

        if self.backend is None:
            return 0
        try:
            return self.backend.sweep(include_own=True)
        except SandboxError as exc:
            sys.stderr.write(f"dgm: sandboxes may be left (the next dgm command sweeps them): {exc}\n")
            return 0

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.signum:
            self.signum = signum
            self.event.set()
            if self.raise_first:
                raise Interrupted(signum)
            return
        try:
            removed = self.hard_stop()
            sys.stderr.write(f"dgm: stopped at once by a second signal ({signal.Signals(signum).name}); removed {removed} sandbox(es)\n")
        finally:
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(self.exit_code)
