"""Retries with exponential backoff, for transient model errors only.

Whoever needs to see each failed attempt (the gateway, which puts every failed call on the
ledger) wraps the call in `reporting_retries(callback)`: the callback gets each failure that
is about to be retried, whichever model retries inside.
"""

from __future__ import annotations

import contextlib
import time
from contextvars import ContextVar
from typing import Callable, Iterator, TypeVar

from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from dgm.llm.errors import ModelError, TransientModelError

T = TypeVar("T")

_on_retry: ContextVar[Callable[[BaseException], None] | None] = ContextVar("dgm_on_retry", default=None)


@contextlib.contextmanager
def reporting_retries(callback: Callable[[BaseException], None]) -> Iterator[None]:
    """Within the block (same thread), `callback(failure)` runs for each attempt that failed
    and will be retried."""
    token = _on_retry.set(callback)
    try:
        yield
    finally:
        _on_retry.reset(token)


def _report(state: RetryCallState) -> None:
    callback = _on_retry.get()
    failure = state.outcome.exception() if state.outcome else None
    if callback is not None and failure is not None:
        callback(failure)


def with_retries(
    fn: Callable[[], T], *, max_retries: int, base_delay: float = 1.0, max_delay: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fn`, retrying TransientModelError up to `max_retries` times (delays base, 2x base,
    ... or the provider's Retry-After when longer; capped at max_delay). Other errors pass
    through at once.

    Raises: ModelError when the last attempt still failed transiently.
    """
    backoff = wait_exponential(multiplier=base_delay, max=max_delay)

    def wait(state: RetryCallState) -> float:
        """The backoff, or longer when the provider said how long to wait (Retry-After)."""
        failure = state.outcome.exception() if state.outcome else None
        hint = getattr(failure, "retry_after", None) or 0.0
        return min(max(backoff(state), hint), max_delay)

    retrying = Retrying(
        retry=retry_if_exception_type(TransientModelError),
        stop=stop_after_attempt(max_retries + 1),
        wait=wait,
        before_sleep=_report,
        sleep=sleep,
        reraise=False,
    )
    try:
        return retrying(fn)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise ModelError(f"gave up after {max_retries + 1} attempts: {last}") from last


class RetryingModel:
    """Wraps any Model with the same retry policy (used for models that do not retry
    themselves, and to test the policy with a flaky model)."""

    def __init__(self, inner, *, max_retries: int = 4, base_delay: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self.inner = inner
        self.name = inner.name
        self.context_tokens = inner.context_tokens
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.sleep = sleep

    def complete(self, messages, **kwargs):
        return with_retries(lambda: self.inner.complete(messages, **kwargs),
                            max_retries=self.max_retries, base_delay=self.base_delay, sleep=self.sleep)
