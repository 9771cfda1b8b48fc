"""The head's end of the LLM relay: a Ray actor pinned to the head's node that hands each
request from a node's relay to the run's real gateway over its unix socket.

The bridge holds no key and decides nothing: the gateway checks the token, the model, the
budget and writes the ledger, exactly as for a sandbox on the head.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

from dgm.llm.server import CHAT_PATHS, MODEL_PATHS
from dgm.llm.wire import error_body


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("gateway", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


class GatewayBridge:
    def __init__(self, socket_path: str, timeout: float = 900.0):
        self.socket_path = socket_path
        self.timeout = timeout

    def serve(self, token: str | None, body: bytes | None, length: int | None) -> tuple[int, dict[str, Any]]:
        if body is None:  # the relay did not read it: too large, said by the gateway's own rule
            return 413, error_body(f"request of {length} bytes is over the limit", "request_too_large")
        return self._forward("POST", CHAT_PATHS[0], token, body)

    def models(self, token: str | None) -> tuple[int, dict[str, Any]]:
        return self._forward("GET", MODEL_PATHS[0], token, None)

    def _forward(self, method: str, path: str, token: str | None, body: bytes | None) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            return reply.status, json.loads(reply.read() or b"{}")
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return 502, error_body(f"the head's gateway did not answer: {type(exc).__name__}", "gateway_unreachable")
        finally:
            conn.close()
