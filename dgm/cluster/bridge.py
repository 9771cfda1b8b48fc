"""The meeting point of the LLM relay: an async Ray actor that nodes' relays push requests to
and the head pulls them from.

Nothing reaches into the head: the head asks for work (`next_requests`, a long poll), serves
each request through its own gateway and posts the answer back (`answer`). So the relay works
the same whether `dgm run` is a node of the cluster or a Ray Client outside it (`ray://`),
and the bridge holds no key and decides nothing: the gateway on the head checks the token,
the model and the budget, and writes the ledger.

A request never hangs: if the head stops asking for work (gone, or closed) for
`head_silence` seconds the caller gets 502; if the queue of requests the head has not taken
is full for `queue_wait` seconds, 503; and after `request_timeout` seconds, 504.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

from dgm.llm.wire import error_body

CHAT = "chat"
MODELS = "models"


@dataclass(frozen=True)
class RelayRequest:
    """One request from a node's relay, as the head receives it."""

    id: int
    kind: str
    """CHAT (a chat completion) or MODELS (the model list)."""
    token: str | None
    body: bytes | None
    """None when the relay did not read it (over the size limit)."""
    length: int | None


@dataclass(frozen=True)
class BridgeLimits:
    max_queued: int = 256
    """Requests waiting for the head to take them; beyond, callers wait `queue_wait`, then 503."""
    queue_wait: float = 30.0
    head_silence: float = 30.0
    """Seconds without a poll from the head after which waiting requests end with 502."""
    request_timeout: float = 900.0


class GatewayBridge:
    """Run as an async Ray actor (`ray.remote(GatewayBridge)`): every method is a coroutine
    on one event loop, so no lock is needed."""

    def __init__(self, limits: BridgeLimits | None = None):
        self.limits = limits or BridgeLimits()
        self._queue: asyncio.Queue[RelayRequest] | None = None
        self._waiting: dict[int, asyncio.Future[tuple[int, dict[str, Any]]]] = {}
        self._ids = itertools.count(1)
        self._last_poll = time.monotonic()
        self._closed = False

    def _q(self) -> asyncio.Queue[RelayRequest]:
        if self._queue is None:  # made on the actor's event loop, not in the constructor's
            self._queue = asyncio.Queue(self.limits.max_queued)
        return self._queue

    # -- a node's relay ----------------------------------------------------------------------
    async def request(self, kind: str, token: str | None, body: bytes | None,
                      length: int | None) -> tuple[int, dict[str, Any]]:
        """Queue one request for the head and wait for its answer; always returns a reply."""
        if self._closed:
            return _head_gone("the run on the head has ended")
        item = RelayRequest(next(self._ids), kind, token, body, length)
        answer: asyncio.Future[tuple[int, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self._waiting[item.id] = answer
        try:
            try:
                await asyncio.wait_for(self._q().put(item), self.limits.queue_wait)
            except asyncio.TimeoutError:
                return 503, error_body("the head is busy: too many LLM requests are waiting", "relay_busy")
            deadline = time.monotonic() + self.limits.request_timeout
            while not answer.done():
                now = time.monotonic()
                if now - self._last_poll > self.limits.head_silence:
                    return _head_gone(f"the head has not asked for work for {now - self._last_poll:.0f} s")
                if now > deadline:
                    return 504, error_body(f"no answer from the head within {self.limits.request_timeout:.0f} s", "relay_timeout")
                await asyncio.wait({answer}, timeout=1.0)
            return answer.result()
        finally:
            self._waiting.pop(item.id, None)

    # -- the head ----------------------------------------------------------------------------
    async def next_requests(self, max_items: int, wait: float) -> list[RelayRequest]:
        """Up to `max_items` requests, waiting at most `wait` seconds for the first; each call
        also tells the bridge the head is alive (`max_items` 0: only that)."""
        self._last_poll = time.monotonic()
        if self._closed or max_items <= 0:
            return []
        queue = self._q()
        try:
            first = await asyncio.wait_for(queue.get(), wait)
        except asyncio.TimeoutError:
            return []
        taken = [first]
        while len(taken) < max_items and not queue.empty():
            taken.append(queue.get_nowait())
        self._last_poll = time.monotonic()
        return [item for item in taken if item.id in self._waiting]  # not those given up on

    async def answer(self, request_id: int, status: int, body: dict[str, Any]) -> bool:
        """The head's reply to one request; False when nobody waits for it any more."""
        waiting = self._waiting.get(request_id)
        if waiting is None or waiting.done():
            return False
        waiting.set_result((status, body))
        return True

    async def close(self) -> int:
        """The head is leaving: every waiting request ends now with 502, and so will new ones.
        Returns how many were waiting."""
        self._closed = True
        ended = 0
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_result(_head_gone("the run on the head has ended"))
                ended += 1
        return ended


def _head_gone(why: str) -> tuple[int, dict[str, Any]]:
    return 502, error_body(f"the head's gateway did not answer: {why}", "gateway_unreachable")
