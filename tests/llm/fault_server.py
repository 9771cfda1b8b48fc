"""A misbehaving OpenAI-compatible server, for fault tests (standard library only).

Each chat request draws one behaviour from a seeded shuffled deck (every fault once and as
many valid answers, reshuffled when dealt out, so a short run meets every fault): a valid
answer, or one of the faults a real provider shows (rate limits with Retry-After, 5xx, a hang, a connection
dropped mid-body, invalid JSON, no choices, tool calls with unparseable arguments or an unknown
tool, a multi-megabyte answer). Hangs are bounded, so a test never waits on a stuck thread.

    with FaultServer(seed=1) as server:
        server.base_url   # "http://127.0.0.1:PORT/v1"
        server.served     # behaviours drawn so far, in order
"""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("rate_limit", "server_error", "unavailable", "hang", "drop", "invalid_json", "empty_choices",
          "bad_arguments", "unknown_tool", "huge")
VALID = "valid"
HUGE_BYTES = 3 * 1024 * 1024

DIAGNOSIS = {
    "log_summary": "fault server: a canned diagnosis",
    "improvement_proposal": "Add a comment line to agent.py (no behaviour change).",
    "implementation_suggestion": "Insert a comment above the main guard.",
    "problem_statement": "Add one comment line '# fault-server note' at the top of agent.py.",
}


class FaultServer:
    def __init__(self, seed: int = 0, hang_seconds: float = 4.0, faults: tuple[str, ...] = FAULTS):
        self.random = random.Random(seed)
        self.deck: list[str] = []
        self.hang_seconds = hang_seconds
        self.faults = faults
        self.served: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def draw(self) -> str:
        with self._lock:
            if not self.deck:
                self.deck = [*self.faults, *[VALID] * len(self.faults)]
                self.random.shuffle(self.deck)
            kind = self.deck.pop()
            self.served.append(kind)
            return kind

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


def completion(message: dict[str, Any], finish_reason: str = "stop") -> dict[str, Any]:
    return {"id": "chatcmpl-fault", "object": "chat.completion", "created": int(time.time()), "model": "fault",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}


def tool_call(name: str, arguments: str) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": name, "arguments": arguments}}]}


def valid_answer(request: dict[str, Any]) -> dict[str, Any]:
    """A tool loop gets a look around for its first two turns, then `finish`; a plain request
    (the diagnosis) gets the canned diagnosis."""
    if request.get("tools"):
        turns = sum(m.get("role") == "assistant" for m in request.get("messages") or [])
        if turns < 2:
            return completion(tool_call("bash", json.dumps({"command": "ls"})), "tool_calls")
        return completion(tool_call("finish", json.dumps({"summary": "fault server: nothing to change"})), "tool_calls")
    return completion({"role": "assistant", "content": json.dumps(DIAGNOSIS)})


def _handler(owner: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

        def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self.send(status, json.dumps(payload).encode(), headers)

        def do_GET(self) -> None:
            self.send_json(200, {"object": "list", "data": [{"id": "fault", "object": "model"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                request = {}
            kind = owner.draw()
            error = lambda message, kind_: {"error": {"message": message, "type": kind_}}  # noqa: E731
            if kind == VALID:
                self.send_json(200, valid_answer(request))
            elif kind == "rate_limit":
                self.send_json(429, error("slow down", "rate_limit_exceeded"), {"Retry-After": "1"})
            elif kind == "server_error":
                self.send_json(500, error("internal error", "server_error"))
            elif kind == "unavailable":
                self.send_json(503, error("overloaded", "server_error"))
            elif kind == "hang":
                owner._stop.wait(owner.hang_seconds)
                self.close_connection = True
            elif kind == "drop":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "4000")
                self.end_headers()
                self.wfile.write(b'{"id": "chatcmpl-fault", "choices": [{"index": 0, "mess')
                self.wfile.flush()
                self.close_connection = True
            elif kind == "invalid_json":
                self.send(200, b'{"id": "chatcmpl-fault", "choices": [ this is not json')
            elif kind == "empty_choices":
                self.send_json(200, {**completion({"role": "assistant", "content": ""}), "choices": []})
            elif kind == "bad_arguments":
                self.send_json(200, completion(tool_call("bash", '{"command": "ls'), "tool_calls"))
            elif kind == "unknown_tool":
                self.send_json(200, completion(tool_call("teleport", '{"to": "mars"}'), "tool_calls"))
            elif kind == "huge":
                self.send_json(200, completion({"role": "assistant", "content": "x" * HUGE_BYTES}))

    return Handler
