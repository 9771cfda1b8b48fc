"""Waiting for a backend that stopped answering (a Docker daemon restarting), with backoff."""

from __future__ import annotations

import threading
import time

from dgm.sandbox.base import Backend

FIRST_DELAY = 0.5
MAX_DELAY = 15.0


def wait_for_backend(backend: Backend, limit: float, stop: threading.Event | None = None) -> bool:
    """Poll `backend.answers()` with a doubling delay (0.5 s up to 15 s) until it answers
    (True), `limit` seconds pass or `stop` is set (False)."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + limit
    delay = FIRST_DELAY
    while not stop.is_set():
        if backend.answers():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        stop.wait(min(delay, remaining))
        delay = min(delay * 2, MAX_DELAY)
    return False
