"""Talks to the LLM gateway: OpenAI chat-completions over HTTP on a unix socket.

The gateway (on the host) holds the real model and the keys; this agent only has a token.
Standard library only. Transient failures (rate limits, server errors, a busy socket) are
retried with backoff; refusals that will not change (budget spent, bad token, request too
large for the gateway) raise FatalLLMError so the agent stops cleanly.
"""

import http.client
import json
import os
import socket
import time

SOCKET = os.environ.get("DGM_LLM_SOCKET", "/run/llm/llm.sock")
TOKEN_FILE = os.environ.get("DGM_LLM_TOKEN_FILE", "/run/llm/token")
RETRY_STATUSES = {429, 500, 502, 503, 504}
FATAL_CODES = {"budget_exhausted", "call_limit", "invalid_token", "model_not_allowed", "script_exhausted"}


class LLMError(Exception):
    """A call failed; the message says why."""


class FatalLLMError(LLMError):
    """Retrying cannot help (budget spent, token refused...): stop the agent."""


class ContextTooLongError(LLMError):
    """The request was too large; the caller should shorten the conversation and retry."""


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class GatewayClient:
    def __init__(self, socket_path=SOCKET, token_file=TOKEN_FILE, timeout=900.0, retries=5, backoff=2.0):
        self.socket_path = socket_path
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        try:
            with open(token_file) as f:
                self.token = f.read().strip()
        except OSError as exc:
            raise FatalLLMError(f"cannot read the gateway token at {token_file}: {exc}") from None

    def chat(self, messages, tools=None, max_tokens=4096, temperature=0.2):
        """One completion. Returns (assistant message dict, usage dict).

        Raises: FatalLLMError, ContextTooLongError, LLMError (retries spent).
        """
        body = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        data = json.dumps(body).encode()
        last = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(60.0, self.backoff * 2 ** (attempt - 1)))
            try:
                status, payload = self._post("/v1/chat/completions", data)
            except (OSError, http.client.HTTPException) as exc:
                last = f"gateway unreachable: {type(exc).__name__}: {exc}"
                continue
            if status == 200:
                return self._parse(payload)
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            code, message = str(error.get("code", "")), str(error.get("message", payload))[:500]
            last = f"HTTP {status} {code}: {message}"
            if code in FATAL_CODES or status in (401, 402, 403):
                raise FatalLLMError(last)
            if status == 413 or "context" in message.lower() and ("length" in message.lower() or "window" in message.lower()):
                raise ContextTooLongError(last)
            if status not in RETRY_STATUSES:
                raise LLMError(last)
        raise LLMError(f"gave up after {self.retries + 1} attempts: {last}")

    def _post(self, path, data):
        conn = UnixHTTPConnection(self.socket_path, self.timeout)
        try:
            conn.request("POST", path, body=data, headers={
                "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            return response.status, {"error": {"message": raw[:300].decode("utf-8", "replace")}}

    @staticmethod
    def _parse(payload):
        try:
            message = payload["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise LLMError(f"malformed answer from the gateway: {str(payload)[:300]}") from None
        usage = payload.get("usage") or {}
        return message, usage
