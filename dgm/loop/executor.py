"""Where jobs run. One interface; a local thread pool now, and a distributed engine (Ray) can
stand behind the same calls later, since a job carries everything it needs in its payload."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from dgm.config import RunConfig


class Executor(Protocol):
    """Runs jobs of the daemon, at most `slots` at once. Used as a context manager: leaving it
    normally waits for what was submitted; leaving it on an exception does not."""

    slots: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Start `fn(*args)`; the future holds its result or the exception it raised."""
        ...

    def abandon(self) -> None:
        """Stop at once: queued work is dropped; running work is left to the caller's clean-up."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


class LocalExecutor:
    """A thread pool in the daemon's process: jobs mostly wait on sandboxes and the model, so
    threads, not CPUs, bound how many run at once."""

    def __init__(self, slots: int):
        self.slots = slots
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="dgm-job")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def abandon(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=exc[0] is None)


def make_executor(config: RunConfig, sandbox_slots: int = 0) -> Executor:
    """The executor of a run. Jobs are threads of the daemon in both kinds: with 'ray' their
    sandboxes run on the cluster (the backend places them), so unless `[executor]
    jobs_in_flight` says otherwise there are enough jobs to fill the cluster's `sandbox_slots`
    (each job runs `eval.workers` tasks at once)."""
    slots = config.jobs_in_flight
    if config.executor.kind == "ray" and not config.executor.jobs_in_flight and sandbox_slots:
        slots = max(slots, -(-sandbox_slots // max(1, config.eval.workers)))
    return LocalExecutor(slots)
