"""The `Model` contract and the real model behind the gateway (litellm).

A model answers one OpenAI-format chat request with one assistant message plus its usage.
Everything provider-specific (keys, base URLs, retries, cost tables) stays behind this
boundary, in the host process.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

from dgm.llm.errors import ModelError, TransientModelError
from dgm.llm.retry import with_retries


@dataclass(frozen=True)
class Completion:
    """One answer: the OpenAI-format assistant message and what it cost."""

    message: dict[str, Any]
    """{"role": "assistant", "content": str | None, "tool_calls": [...]} (tool_calls only when any)."""
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency: float = 0.0
    finish_reason: str = "stop"
    note: str = ""
    """Why a figure is missing or approximate (e.g. no price known for the model)."""

    @property
    def content(self) -> str | None:
        return self.message.get("content")

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return list(self.message.get("tool_calls") or [])


@runtime_checkable
class Model(Protocol):
    """Anything that answers chat requests; the gateway holds one per run."""

    name: str
    context_tokens: int | None
    """The model's context window (prompt and answer) in tokens when it is small enough to
    matter (a local model); None for hosted models, whose windows exceed our prompts."""

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        max_tokens: int = 1024,
        temperature: float = 0.7,
    ) -> Completion:
        """Raises: ModelError (an agent failure: malformed answer, provider refusal, retries
        spent); ScriptExhausted from the scripted model only."""
        ...


def assistant_message(content: Any, tool_calls: Any) -> dict[str, Any]:
    """A clean OpenAI assistant message from loose parts.

    Raises: ModelError when the parts are not what the format allows (e.g. tool calls
    without a function name, arguments that are not a JSON string).
    """
    if content is not None and not isinstance(content, str):
        raise ModelError(f"malformed answer: content is a {type(content).__name__}, not text")
    message: dict[str, Any] = {"role": "assistant", "content": content}
    calls = []
    for i, call in enumerate(tool_calls or []):
        if hasattr(call, "model_dump"):
            call = call.model_dump()
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise ModelError(f"malformed answer: tool call {i} has no function name")
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        if not isinstance(arguments, str):
            raise ModelError(f"malformed answer: tool call {i} has arguments of type {type(arguments).__name__}")
        calls.append({"id": str(call.get("id") or f"call_{i}"), "type": "function",
                      "function": {"name": function["name"], "arguments": arguments}})
    if calls:
        message["tool_calls"] = calls
    elif content is None:
        message["content"] = ""
    return message


TRANSIENT_NAMES = ("RateLimitError", "Timeout", "APIConnectionError", "InternalServerError",
                   "ServiceUnavailableError", "BadGatewayError")


def is_transient(exc: BaseException) -> bool:
    """Rate limits, timeouts, connection and server errors: retry them; nothing else."""
    if any(cls.__name__ in TRANSIENT_NAMES for cls in type(exc).__mro__):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status in (408, 409, 429) or status >= 500)


def retry_after(exc: BaseException) -> float | None:
    """The seconds of a Retry-After header on the provider's answer, when it sent one."""
    for holder in (exc, exc.__cause__):
        headers = getattr(getattr(holder, "response", None), "headers", None) or getattr(holder, "litellm_response_headers", None)
        value = headers.get("retry-after") if headers is not None and hasattr(headers, "get") else None
        try:
            return max(0.0, float(value)) if value is not None else None
        except (TypeError, ValueError):
            continue  # an HTTP date: rare; the backoff applies
    return None


@dataclass
class LiteLLMModel:
    """Any litellm model string (hosted providers, or Ollama/vLLM through `api_base`).

    litellm is imported on first use: it is slow to import and, without
    LITELLM_LOCAL_MODEL_COST_MAP, fetches a price list from the network.
    """

    name: str
    api_base: str = ""
    api_key: str = ""
    """Only for servers that need a placeholder key (the local model); hosted providers read
    theirs from the environment."""
    timeout: float = 120.0
    max_retries: int = 4
    base_delay: float = 1.0
    mock_response: Any = None
    """Passed through to litellm (tests: a text, or e.g. 'litellm.RateLimitError')."""
    mock_tool_calls: list[dict[str, Any]] | None = None
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    context_tokens: int | None = None

    def complete(self, messages, *, tools=None, tool_choice=None, max_tokens=1024, temperature=0.7) -> Completion:
        return with_retries(
            lambda: self._attempt(messages, tools, tool_choice, max_tokens, temperature),
            max_retries=self.max_retries, base_delay=self.base_delay, sleep=self.sleep,
        )

    def _attempt(self, messages, tools, tool_choice, max_tokens, temperature) -> Completion:
        litellm = _litellm()
        kwargs: dict[str, Any] = dict(
            model=self.name, messages=messages, max_tokens=max_tokens, temperature=temperature,
            timeout=self.timeout, num_retries=0, drop_params=True,
        )
        if tools:
            kwargs["tools"] = tools
            # litellm 1.106 imports its MCP bridge (and the optional `mcp` package) whenever tools
            # are given; our tools are plain functions, so skip it.
            kwargs["_skip_mcp_handler"] = True
            if tool_choice is not None:
                kwargs["tool_choice"] = tool_choice
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        if self.mock_response is not None:
            kwargs["mock_response"] = self.mock_response
        if self.mock_tool_calls is not None:
            kwargs["mock_tool_calls"] = self.mock_tool_calls
        started = time.monotonic()
        try:
            response = litellm.completion(**kwargs)
        except Exception as exc:  # litellm maps every provider failure onto its exception classes
            if is_transient(exc):
                raise TransientModelError(f"{self.name}: {type(exc).__name__}: {_short(exc)}", retry_after(exc)) from exc
            if type(exc).__module__.startswith(("litellm", "openai", "httpx")):
                raise ModelError(f"{self.name}: {type(exc).__name__}: {_short(exc)}") from exc
            raise
        latency = time.monotonic() - started
        return self._completion(litellm, response, latency)

    def _completion(self, litellm: Any, response: Any, latency: float) -> Completion:
        try:
            choice = response.choices[0]
            message = assistant_message(choice.message.content, getattr(choice.message, "tool_calls", None))
            usage = response.usage
            prompt, completion = int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise ModelError(f"{self.name}: malformed answer ({type(exc).__name__}: {exc})") from exc
        cost, note = 0.0, ""
        try:
            cost = float(litellm.completion_cost(completion_response=response) or 0.0)
        except Exception as exc:  # no price known (local models, new names): record 0, say so
            note = f"cost unknown for {self.name}: {type(exc).__name__}"
        return Completion(message, self.name, prompt, completion, cost, latency,
                          str(getattr(choice, "finish_reason", None) or "stop"), note)


def missing_credentials(name: str, api_base: str = "") -> list[str]:
    """Environment variables litellm says the model needs and the host lacks (checked before
    a run starts, so a missing key is one clear line, not minutes of retries). A configured
    api_base means a local or private server, which may need no key: nothing is demanded."""
    if api_base:
        return []
    found = _litellm().validate_environment(model=name)
    return [str(key) for key in found.get("missing_keys") or []]


def route_problem(name: str, api_base: str = "") -> str | None:
    """Why litellm cannot route `name` to any provider (None when it can): caught before a
    run or an evaluation starts, not after minutes of retries per task."""
    litellm = _litellm()
    try:
        litellm.get_llm_provider(name, api_base=api_base or None)
    except litellm.exceptions.BadRequestError:
        return f"model '{name}' names no provider litellm knows (e.g. openai/gpt-4o-mini, anthropic/..., or --api-base for an OpenAI-compatible server)"
    return None


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."
