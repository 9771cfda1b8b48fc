"""The head's end of the LLM relay: a thread that pulls requests from the bridge actor and
serves each through the run's gateway, in this process.

Only requests and answers cross Ray; the gateway (its keys, tokens, budgets, ledger) stays in
the head's process. Pulling, not being called, is what lets `dgm run` be a Ray Client outside
the cluster (`ray://`): no actor ever needs to reach the head.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from dgm.cluster.bridge import CHAT, MODELS, RelayRequest
from dgm.cluster.link import connected, connection_lost
from dgm.cluster.errors import first_line

if TYPE_CHECKING:
    from dgm.llm.server import Service

log = logging.getLogger("dgm.cluster")

POLL_SECONDS = 1.0
"""How long one poll waits for a request: also how often the head says it is alive, and how
long closing may take."""


class HeadRelay:
    """Serves the bridge's requests with up to `workers` at once (the rest wait in the bridge's
    bounded queue). Use as a context manager or call `close`; the thread is a daemon, so a
    process that leaves at once is not held by it."""

    def __init__(self, bridge: Any, service: Service, workers: int = 64):
        self.bridge = bridge
        self.service = service
        self.workers = workers
        self.served = 0
        self._busy = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="dgm-head-relay")
        self._thread = threading.Thread(target=self._poll, name="dgm-head-relay-poll", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        import ray
        import ray.exceptions as rex

        while not self._stop.is_set():
            with self._cond:  # take only what there is a worker for: the rest waits in the bridge
                self._cond.wait_for(lambda: self._busy < self.workers or self._stop.is_set(), POLL_SECONDS)
                free = self.workers - self._busy
            try:
                items = ray.get(self.bridge.next_requests.remote(free, POLL_SECONDS), timeout=POLL_SECONDS + 60)
            except rex.RayActorError:
                log.debug("the LLM relay's bridge actor is gone")  # not printed: a lost cluster is the daemon's one line
                return
            except Exception as exc:  # noqa: BLE001 - sorted below: Ray's client raises plain ones
                if self._stop.is_set():
                    return
                if connection_lost(exc):
                    log.debug("lost the connection to the Ray cluster")
                    return
                if not isinstance(exc, rex.RayError):
                    raise
                log.warning("polling the LLM relay failed: %s", first_line(exc))
                self._stop.wait(POLL_SECONDS)  # a timeout or a hiccup: ask again
                continue
            for item in items:
                with self._cond:
                    self._busy += 1
                self._pool.submit(self._serve, item)

    def _serve(self, item: RelayRequest) -> None:
        import ray

        from dgm.llm.wire import error_body

        try:
            try:
                status, body = self._decide(item)
            except Exception as exc:  # noqa: BLE001 - a gateway bug: the agent gets 500 now, not a wait for the timeout
                log.error("the gateway failed on a relayed request: %s: %s", type(exc).__name__, exc)
                status, body = 500, error_body(f"the head's gateway failed: {type(exc).__name__}", "gateway_error")
            ray.get(self.bridge.answer.remote(item.id, status, body), timeout=60)
            with self._cond:
                self.served += 1
        except Exception as exc:  # noqa: BLE001 - the bridge or the connection gone (Ray's client raises plain ones): its caller ends with 502 there
            if not self._stop.is_set():
                log.debug("answering an LLM relay request failed: %s", type(exc).__name__)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def _decide(self, item: object) -> tuple[int, dict[str, Any]]:
        """The gateway's reply, for a request checked here first: whatever crossed the cluster
        is untrusted, so a malformed one is refused and an oversized body is not parsed."""
        from dgm.llm.wire import error_body

        if not isinstance(item, RelayRequest) or not _optional(item.token, str) \
                or not _optional(item.body, bytes) or not _optional(item.length, int):
            return 400, error_body("malformed relay request", "bad_request")
        if item.kind == MODELS:
            return self.service.models(item.token)
        if item.kind != CHAT:
            return 404, error_body(f"no such relay request {str(item.kind)[:40]!r}", "not_found")
        body, length = item.body, item.length
        if body is not None and len(body) > self.service.max_request_bytes:  # not parsed: 413 from the gateway
            length, body = len(body), None
        return self.service.serve(item.token, body, length)

    def close(self) -> None:
        """Stop pulling, end the bridge's waiting requests with 502, and return within about
        `POLL_SECONDS`. Never raises."""
        import ray
        import ray.exceptions as rex

        if self._stop.is_set():
            return
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        try:
            if connected():  # else the bridge went with the connection
                ray.get(self.bridge.close.remote(), timeout=10)
        except (rex.RayError, ConnectionError):  # a bridge already gone has nothing waiting
            pass
        self._thread.join(POLL_SECONDS + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> HeadRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _optional(value: object, kind: type) -> bool:
    return value is None or isinstance(value, kind)
