"""The OpenAI chat-completions wire format, as the gateway accepts and answers it.

Requests are rebuilt from allowed fields only: anything else a sandbox sends (base URLs,
headers, provider options, image URLs a provider would fetch) is refused or dropped here,
before a model ever sees it.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

from dgm.llm.errors import LLMError
from dgm.llm.models import Completion

ROLES = ("system", "user", "assistant", "tool", "developer")
MAX_MESSAGES = 2_000
MAX_TOOLS = 128
TOOL_CHOICES = ("auto", "none", "required")


class Refusal(LLMError):
    """A request the gateway will not forward: an HTTP status and an OpenAI error code."""

    def __init__(self, status: int, code: str, message: str, outcome: str = "refused"):
        super().__init__(message)
        self.status = status
        self.code = code
        self.outcome = outcome
        """The ledger outcome: 'refused', or 'budget' for a sandbox whose budget is spent."""


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, Any]]
    model: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    max_tokens: int | None = None
    temperature: float | None = None


def bad(message: str) -> Refusal:
    return Refusal(400, "invalid_request", message)


def parse_request(body: bytes) -> ChatRequest:
    """Raises: Refusal (400) when the body is not a chat request this gateway forwards."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad("the body is not JSON") from None
    if not isinstance(data, dict):
        raise bad("the body must be a JSON object")
    if data.get("stream"):
        raise bad("streaming is not supported by this gateway; send stream=false")
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise bad("model must be a string")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages or len(messages) > MAX_MESSAGES:
        raise bad(f"messages must be a list of 1 to {MAX_MESSAGES} messages")
    tools = _tools(data.get("tools"))
    max_tokens = data.get("max_tokens", data.get("max_completion_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise bad("max_tokens must be a positive integer")
    temperature = data.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature):
            raise bad("temperature must be a number")
        temperature = min(2.0, max(0.0, float(temperature)))
    return ChatRequest([_message(m, i) for i, m in enumerate(messages)], model or None, tools,
                       _tool_choice(data.get("tool_choice"), tools), max_tokens, temperature)


def _content(value: Any, where: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise bad(f"{where}: only text content parts are accepted")
            parts.append({"type": "text", "text": part["text"]})
        return parts
    raise bad(f"{where}: content must be a string, null or a list of text parts")


def _message(m: Any, i: int) -> dict[str, Any]:
    where = f"messages[{i}]"
    if not isinstance(m, dict) or m.get("role") not in ROLES:
        raise bad(f"{where} must be an object with a role in {', '.join(ROLES)}")
    out: dict[str, Any] = {"role": m["role"], "content": _content(m.get("content"), where)}
    for key in ("name", "tool_call_id"):
        if m.get(key) is not None:
            if not isinstance(m[key], str):
                raise bad(f"{where}.{key} must be a string")
            out[key] = m[key]
    if m.get("tool_calls"):
        if m["role"] != "assistant" or not isinstance(m["tool_calls"], list):
            raise bad(f"{where}: tool_calls belong to assistant messages, as a list")
        out["tool_calls"] = [_tool_call(c, f"{where}.tool_calls[{j}]") for j, c in enumerate(m["tool_calls"])]
    return out


def _tool_call(c: Any, where: str) -> dict[str, Any]:
    function = c.get("function") if isinstance(c, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not isinstance(function.get("arguments", ""), str):
        raise bad(f"{where} must have a function with a name and string arguments")
    return {"id": str(c.get("id") or ""), "type": "function",
            "function": {"name": function["name"], "arguments": function.get("arguments", "")}}


def _tools(tools: Any) -> list[dict[str, Any]] | None:
    if tools is None or tools == []:
        return None
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise bad(f"tools must be a list of at most {MAX_TOOLS} tools")
    out = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(function, dict) \
                or not isinstance(function.get("name"), str):
            raise bad(f"tools[{i}] must be a function tool with a name")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise bad(f"tools[{i}].function.parameters must be a JSON schema object")
        out.append({"type": "function", "function": {
            "name": function["name"], "description": str(function.get("description", "")), "parameters": parameters}})
    return out


def _tool_choice(choice: Any, tools: list[dict[str, Any]] | None) -> Any:
    if choice is None or tools is None:
        return None
    if choice in TOOL_CHOICES:
        return choice
    name = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    if isinstance(name, str) and any(t["function"]["name"] == name for t in tools):
        return {"type": "function", "function": {"name": name}}
    raise bad("tool_choice must be auto, none, required or one of the given functions")


def completion_body(completion: Completion) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": completion.model,
        "choices": [{"index": 0, "message": completion.message,
                     "finish_reason": "tool_calls" if completion.tool_calls else completion.finish_reason}],
        "usage": {"prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
                  "total_tokens": completion.prompt_tokens + completion.completion_tokens},
    }


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "code": code}}
