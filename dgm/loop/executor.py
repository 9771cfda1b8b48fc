"""Where jobs run. One interface, a local thread pool now; a distributed engine (Ray) could
stand behind the same two calls later, since a job carries everything it needs in its payload."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


class LocalExecutor:
    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dgm-job")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def abandon(self) -> None:
        """Stop at once: queued work is dropped; running work is left to the caller's cleanup."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=exc[0] is None)
