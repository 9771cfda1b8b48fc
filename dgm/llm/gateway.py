"""The LLM gateway: the only way agent code reaches a model, and the accounting of every call.

One host-side HTTP server per run on a unix socket, speaking OpenAI chat-completions. It
holds the real model (and so the provider keys, which stay in this process: never in a
mount, an environment, a log or the archive). A sandbox gets a grant: a fresh bearer token
bound to (agent, task, purpose) and a directory mounted at /run/llm holding the socket and
the token; the token is revoked when the grant ends. Every call, whatever its outcome, is a
ledger row; budgets are checked against the ledger before each call.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from dgm.archive.schema import PURPOSES, STEPS

from dgm.config import RunConfig
from dgm.errors import BudgetExhausted
from dgm.llm.budget import Budget
from dgm.llm.errors import GatewayError, ModelError, ScriptExhausted
from dgm.llm.models import Completion, Model
from dgm.llm.retry import reporting_retries
from dgm.llm.server import UnixHTTPServer
from dgm.llm.wire import ChatRequest, Refusal, completion_body, error_body, parse_request

if TYPE_CHECKING:
    from dgm.archive.contract import Ledger
    from dgm.sandbox import Mount

log = logging.getLogger("dgm.llm")

SOCKET_NAME = "llm.sock"
TOKEN_NAME = "token"
SANDBOX_DIR = "/run/llm"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux
UNAUTHENTICATED_ROWS = 100
HOST_ANSWER_TOKENS = 1024
"""Room kept in a small context window for a host call's answer (a diagnosis is a short JSON)."""


@dataclass(frozen=True)
class GatewayLimits:
    max_request_bytes: int = 1_000_000
    calls_per_grant: int = 500
    """Calls one sandbox may make in its lifetime."""
    calls_per_minute: int = 120
    """Per token, over a sliding minute."""
    refused_rows_per_grant: int = 20
    """Refusals recorded per token; beyond it a flooding sandbox is only counted."""
    max_connections: int = 64
    request_seconds: float = 10.0
    """Time a client has to send its whole request (head and body): a client trickling bytes
    cannot keep a connection slot for longer."""


@dataclass
class Grant:
    agent_id: str | None
    task_id: str | None
    purpose: str
    iteration: int | None = None
    step: str | None = None
    calls: int = 0
    refused: int = 0
    recent: collections.deque = field(default_factory=collections.deque)
    fatal: BaseException | None = None
    spent: str = ""
    """Why this sandbox's budget is spent; later calls are refused without asking the ledger."""


@dataclass(frozen=True)
class Caller:
    """Who a call is for, as the ledger records it (see `Ledger.record_llm_call`)."""

    agent_id: str | None
    task_id: str | None
    purpose: str
    iteration: int | None = None
    step: str | None = None

    @property
    def loop_step(self) -> str:
        """The step the ledger records: a call that names none is in its purpose's step."""
        return self.step or self.purpose


class Gateway:
    """Use as a context manager (start/stop). Implements `evals.LLMAccess`."""

    def __init__(self, model: Model, config: RunConfig, ledger: Ledger, *, host_model: Model | None = None,
                 limits: GatewayLimits | None = None, socket_dir: Path | None = None):
        self.model = model
        self.host_model = host_model or _host_model(model, config)
        self.config = config
        self.ledger = ledger
        self.limits = limits or GatewayLimits()
        self.max_request_bytes = self.limits.max_request_bytes
        self.budget = Budget(config.budget, ledger)
        self.allowed_models = allowed_model_names(config.model.name, model.name)
        self._socket_dir = socket_dir
        self._base: Path | None = None
        self._server: UnixHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self.unauthenticated = 0

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def socket_path(self) -> Path:
        if self._base is None:
            raise GatewayError("the gateway is not started")
        return self._base / SOCKET_NAME

    def start(self) -> "Gateway":
        """Raises: GatewayError when no short enough private directory can hold the socket."""
        if self._server is not None:
            return self
        start_model = getattr(self.model, "start", None)
        if callable(start_model):  # a model with a server of its own (local): up before any grant
            start_model()
        try:
            self._listen()
        except BaseException:
            self.stop()
            raise
        return self

    def _listen(self) -> None:
        parent = self._socket_dir or Path(tempfile.gettempdir())
        if len(str(parent)) > MAX_SOCKET_PATH - 30:
            parent = Path("/tmp")
        base = Path(tempfile.mkdtemp(prefix="dgm-llm-", dir=parent))
        path = base / SOCKET_NAME
        if len(str(path)) > MAX_SOCKET_PATH:
            shutil.rmtree(base, ignore_errors=True)
            raise GatewayError(f"socket path {path} is too long for a unix socket; pass a shorter socket_dir")
        self._base = base
        self._server = UnixHTTPServer(str(path), self, self.limits.max_connections, self.limits.request_seconds)
        os.chmod(path, 0o666)  # the sandbox user must connect; the token, not the mode, is the lock
        self._thread = threading.Thread(target=self._server.serve_forever, name="dgm-llm-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._grants.clear()
        try:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None
            if self._base is not None:
                shutil.rmtree(self._base, ignore_errors=True)
                self._base = None
        finally:
            close_model = getattr(self.model, "close", None)
            if callable(close_model):
                close_model()

    def __enter__(self) -> "Gateway":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- grants (evals.LLMAccess) ------------------------------------------------------------
    @contextlib.contextmanager
    def grant(self, *, agent_id: str | None, task_id: str | None, purpose: str,
              iteration: int | None = None, step: str | None = None) -> Iterator[list[Mount]]:
        """Mounts exposing /run/llm/llm.sock and /run/llm/token for one sandbox, whose calls
        are recorded for `agent_id` in the loop's `step` (default: the purpose) of `iteration`.

        Raises: GatewayError when the gateway is not started or the purpose or step is unknown;
        on exit, ScriptExhausted if the scripted model ran out while serving this grant.
        """
        from dgm.sandbox import Mount

        if purpose not in PURPOSES:
            raise GatewayError(f"unknown purpose '{purpose}' (known: {', '.join(PURPOSES)})")
        if step is not None and step not in STEPS:
            raise GatewayError(f"unknown step '{step}' (known: {', '.join(STEPS)})")
        token = secrets.token_urlsafe(32)
        directory = self.socket_path.parent / ("g-" + secrets.token_hex(8))
        directory.mkdir(mode=0o755)
        os.chmod(directory, 0o755)
        os.link(self.socket_path, directory / SOCKET_NAME)  # same socket, one folder per sandbox
        token_file = directory / TOKEN_NAME
        token_file.write_text(token)
        os.chmod(token_file, 0o444)
        state = Grant(agent_id, task_id, purpose, iteration, step)
        with self._lock:
            self._grants[_digest(token)] = state
        failed = True
        try:
            yield [Mount(directory, SANDBOX_DIR, read_only=True)]
            failed = False
        finally:
            with self._lock:
                self._grants.pop(_digest(token), None)
            shutil.rmtree(directory, ignore_errors=True)
        if state.fatal is not None and not failed:
            raise state.fatal

    def for_iteration(self, iteration: int) -> "IterationGrants":
        """This gateway as `evals.LLMAccess` for the evaluation of the child of `iteration`:
        evals knows nothing of the loop, so the iteration is bound here."""
        return IterationGrants(self, iteration)

    # -- host calls ------------------------------------------------------------------------
    def complete_for_host(self, messages: list[dict], agent_id: str | None = None, purpose: str = "diagnose", *,
                          task_id: str | None = None, iteration: int | None = None, step: str | None = None,
                          tools: list[dict] | None = None, max_tokens: int | None = None,
                          temperature: float | None = None) -> Completion:
        """A host-side call (diagnosis) under the same budgets and ledger as sandbox calls.

        Raises: BudgetExhausted (recorded as 'budget'); ModelError (recorded as 'error', as is
        each failed attempt that was retried);
        ScriptExhausted from the scripted model.
        """
        caller = Caller(agent_id, task_id, purpose, iteration, step)
        request = ChatRequest(messages, None, tools, None, max_tokens, temperature)
        return self._call(caller, request, self.host_model)

    def host_prompt_chars(self) -> int | None:
        """Characters a host prompt may take: the host model's context window less room for
        the answer, at a cautious 2.5 characters per token (code tokenizes densely); None
        when the window is not known to be small (hosted models)."""
        window = self.host_model.context_tokens
        if window is None:
            return None
        return int(max(window - HOST_ANSWER_TOKENS, window // 2) * 2.5)

    # -- sandbox calls (the HTTP handler) --------------------------------------------------
    def serve(self, token: str | None, body: bytes | None, length: int | None) -> tuple[int, dict[str, Any]]:
        """Decide one HTTP request; every outcome becomes a ledger row (floods are capped)."""
        grant = self._lookup(token)
        if grant is None:
            self._record_unauthenticated()
            return 401, error_body("missing, unknown or revoked token", "invalid_token")
        caller = Caller(grant.agent_id, grant.task_id, grant.purpose, grant.iteration, grant.step)
        try:
            if grant.spent:
                raise Refusal(402, "budget_exhausted", f"budget exhausted: {grant.spent}", outcome="budget")
            if body is None:
                raise Refusal(413, "request_too_large", f"request of {length} bytes is over the limit of {self.max_request_bytes}")
            request = parse_request(body)
            if request.model is not None and request.model not in self.allowed_models:
                raise Refusal(403, "model_not_allowed", f"model {request.model[:80]!r} is not allowed in this run")
            self._admit(grant)
        except Refusal as refusal:
            self._record_refusal(grant, caller, refusal.outcome)
            return refusal.status, error_body(str(refusal), refusal.code)
        try:
            completion = self._call(caller, request, self.model)
        except BudgetExhausted as exc:
            grant.spent = str(exc)
            return 402, error_body(f"budget exhausted: {exc}", "budget_exhausted")
        except ScriptExhausted as exc:
            grant.fatal = exc
            return 500, error_body(str(exc), "script_exhausted")
        except ModelError as exc:
            return 502, error_body(f"the model failed: {exc}", "model_error")
        return 200, completion_body(completion)

    def models(self, token: str | None) -> tuple[int, dict[str, Any]]:
        if self._lookup(token) is None:
            return 401, error_body("missing, unknown or revoked token", "invalid_token")
        return 200, {"object": "list", "data": [{"id": name, "object": "model"} for name in sorted(self.allowed_models)]}

    # -- policy and accounting ---------------------------------------------------------------
    def _lookup(self, token: str | None) -> Grant | None:
        if not token:
            return None
        with self._lock:
            return self._grants.get(_digest(token))

    def _admit(self, grant: Grant) -> None:
        """Count and rate limits of one token. Raises: Refusal (429)."""
        now = time.monotonic()
        with self._lock:
            if grant.calls >= self.limits.calls_per_grant:
                raise Refusal(429, "call_limit", f"this sandbox has used its {self.limits.calls_per_grant} calls")
            while grant.recent and now - grant.recent[0] > 60:
                grant.recent.popleft()
            if len(grant.recent) >= self.limits.calls_per_minute:
                raise Refusal(429, "rate_limited", f"more than {self.limits.calls_per_minute} calls a minute; slow down")
            grant.calls += 1
            grant.recent.append(now)

    def _call(self, caller: Caller, request: ChatRequest, model: Model) -> Completion:
        cap = self.config.model.max_tokens
        max_tokens = min(request.max_tokens or cap, cap)
        temperature = self.config.model.temperature if request.temperature is None else request.temperature
        try:
            self.budget.check(agent_id=caller.agent_id, task_id=caller.task_id, iteration=caller.iteration, step=caller.loop_step)
        except BudgetExhausted:
            self._record(caller, model.name, outcome="budget")
            raise
        started = attempt = time.monotonic()

        def failed_attempt(failure: BaseException) -> None:  # each retried failure is a ledger row too
            nonlocal attempt
            now = time.monotonic()
            self._record(caller, model.name, outcome="error", latency=now - attempt)
            attempt = now

        try:
            with reporting_retries(failed_attempt):
                completion = model.complete(request.messages, tools=request.tools, tool_choice=request.tool_choice,
                                            max_tokens=max_tokens, temperature=temperature)
        except (ModelError, ScriptExhausted) as exc:
            log.warning("model call failed for %s/%s: %s", caller.agent_id, caller.task_id, exc)
            self._record(caller, model.name, outcome="error", latency=time.monotonic() - attempt)
            raise
        latency = completion.latency or (time.monotonic() - started)
        completion = replace(completion, latency=latency)
        self._record(caller, completion.model, outcome="ok", prompt_tokens=completion.prompt_tokens,
                     completion_tokens=completion.completion_tokens, cost_usd=completion.cost_usd, latency=latency)
        return completion

    def _record(self, caller: Caller, model: str, *, outcome: str, prompt_tokens: int = 0,
                completion_tokens: int = 0, cost_usd: float = 0.0, latency: float = 0.0) -> None:
        self.ledger.record_llm_call(
            agent_id=caller.agent_id, task_id=caller.task_id, purpose=caller.purpose, model=model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost_usd,
            latency=latency, outcome=outcome, iteration=caller.iteration, step=caller.loop_step,
        )

    def _record_refusal(self, grant: Grant, caller: Caller, outcome: str) -> None:
        with self._lock:
            grant.refused += 1
            record = grant.refused <= self.limits.refused_rows_per_grant
        if record:
            self._record(caller, self.model.name, outcome=outcome)

    def _record_unauthenticated(self) -> None:
        with self._lock:
            self.unauthenticated += 1
            record = self.unauthenticated <= UNAUTHENTICATED_ROWS
        if record:
            self._record(Caller(None, None, "solve"), self.model.name, outcome="refused")


@dataclass(frozen=True)
class IterationGrants:
    """`evals.LLMAccess` whose grants record their calls under one loop iteration."""

    gateway: Gateway
    iteration: int

    def grant(self, *, agent_id: str | None, task_id: str | None, purpose: str) -> contextlib.AbstractContextManager[list[Mount]]:
        return self.gateway.grant(agent_id=agent_id, task_id=task_id, purpose=purpose, iteration=self.iteration)


def allowed_model_names(*names: str) -> set[str]:
    """The run's model under its full litellm name and its bare name ('openai/gpt-4o' and
    'gpt-4o'): an agent may name either; both reach the same configured model."""
    return {alias for name in names if name for alias in (name, name.split("/", 1)[-1])}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _host_model(model: Model, config: RunConfig) -> Model:
    """The diagnosis model: `diagnose_model` when the config names another one."""
    name = config.model.diagnose_model
    if not name or name in (model.name, config.model.name):
        return model
    from dgm.llm.factory import make_model

    return make_model(replace(config.model, name=name))
