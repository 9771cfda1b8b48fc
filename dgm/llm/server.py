"""HTTP/1.1 over a unix socket, standard library only: the transport of the gateway.

The handler does no policy: it reads at most the allowed number of bytes and hands the token
and the body to `Gateway.serve`, which decides and records. Connections are bounded, so a
sandbox cannot exhaust the host's threads.
"""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from dgm.llm.wire import error_body

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
MODEL_PATHS = ("/v1/models", "/models")


class Service(Protocol):
    max_request_bytes: int

    def serve(self, token: str | None, body: bytes | None, length: int | None) -> tuple[int, dict[str, Any]]: ...

    def models(self, token: str | None) -> tuple[int, dict[str, Any]]: ...


class UnixHTTPServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, path: str, service: Service, max_connections: int = 64, request_seconds: float = 10.0):
        self.service = service
        self.slots = threading.BoundedSemaphore(max_connections)
        self.request_queue_size = max_connections  # the listen backlog: past it, a connect fails with EAGAIN
        self.request_seconds = request_seconds
        super().__init__(path, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # too many open connections: drop this one
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line instead of socketserver's traceback; a sandbox that vanished mid-request
        (killed at its deadline, or by a stop) is ordinary and says nothing."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        sys.stderr.write(f"dgm gateway: a request failed: {type(exc).__name__}: {exc}\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds to send a request: a stalled client cannot hold a thread forever
    server: UnixHTTPServer

    def address_string(self) -> str:
        return "sandbox"

    def setup(self) -> None:
        super().setup()
        self._deadline = threading.Timer(self.server.request_seconds, self._cut_off)
        self._deadline.daemon = True
        self._deadline.start()

    def _cut_off(self) -> None:
        """The request did not arrive in time: close the connection under the reader."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed: nothing left to cut

    def finish(self) -> None:
        self._deadline.cancel()
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # the ledger is the log
        pass

    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def do_POST(self) -> None:
        if self.path.split("?")[0] not in CHAT_PATHS:
            self._reply(404, error_body(f"no such endpoint {self.path[:80]!r}", "not_found"))
            return
        if self.headers.get("Transfer-Encoding"):
            self._reply(411, error_body("send a Content-Length (no chunked bodies)", "length_required"))
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._reply(411, error_body("a Content-Length header is required", "length_required"))
            return
        body = None
        if 0 <= length <= self.server.service.max_request_bytes:
            body = self.rfile.read(length)
        self._deadline.cancel()  # the request is in; the model may take its time
        status, payload = self.server.service.serve(self._token(), body, length)
        self._reply(status, payload)

    def do_GET(self) -> None:
        if self.path.split("?")[0] not in MODEL_PATHS:
            self._reply(404, error_body(f"no such endpoint {self.path[:80]!r}", "not_found"))
            return
        self._reply(*self.server.service.models(self._token()))
