"""The scripted model: deterministic, offline, and loud when its script runs out.

Tests and the dry run use this same code (STYLE.md 9). A script is either a list of answers
given in order, a list of `Rule`s matched against each request, or any callable that maps a
`Request` to an answer (None: no answer). Usage figures are deterministic (about four
characters per token, a fixed fake price) so ledgers and budgets are exercised for real.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

from dgm.llm.errors import ScriptExhausted
from dgm.llm.models import Completion, assistant_message

USD_PER_MILLION_PROMPT = 1.0
USD_PER_MILLION_COMPLETION = 4.0
"""The fake price of the scripted model (in the range of a small hosted model)."""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


@dataclass(frozen=True)
class Request:
    """What the model was asked; scripts decide on it, tests assert on it."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    max_tokens: int = 0
    temperature: float = 0.0

    def texts(self, role: str) -> list[str]:
        return [_text(m.get("content")) for m in self.messages if m.get("role") == role]

    @property
    def system(self) -> str:
        return "\n".join(self.texts("system"))

    @property
    def first_user(self) -> str:
        users = self.texts("user")
        return users[0] if users else ""

    @property
    def last_user(self) -> str:
        users = self.texts("user")
        return users[-1] if users else ""

    @property
    def tool_results(self) -> list[str]:
        return self.texts("tool")

    @property
    def turns(self) -> int:
        """Assistant turns so far: which step of a tool loop this request is."""
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    @property
    def tool_names(self) -> list[str]:
        return [t.get("function", {}).get("name", "") for t in self.tools or []]


@dataclass(frozen=True)
class Answer:
    """A scripted assistant turn: text, tool calls, or both."""

    content: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()

    @classmethod
    def say(cls, text: str) -> "Answer":
        return cls(content=text)

    @classmethod
    def call(cls, name: str, **arguments: Any) -> "Answer":
        return cls(tool_calls=((name, arguments),))

    def message(self, call_prefix: str) -> dict[str, Any]:
        calls = [
            {"id": f"{call_prefix}_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for i, (name, args) in enumerate(self.tool_calls)
        ]
        return assistant_message(self.content, calls)


Reply = Union[str, dict, Answer]
"""A text, an OpenAI assistant message dict, or an Answer."""


@dataclass
class Rule:
    """Answer `answer` to requests that `when` matches (a text: the last user message holds it)."""

    when: str | Callable[[Request], bool]
    answer: Reply | Callable[[Request], Reply]
    times: int | None = None
    """How often this rule may answer; None: without limit."""
    used: int = field(default=0, compare=False)

    def matches(self, request: Request) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        return self.when in request.last_user if isinstance(self.when, str) else bool(self.when(request))


Script = Union[Sequence[Reply], Sequence[Rule], Callable[[Request], "Reply | None"]]


class ScriptedModel:
    """A deterministic model that answers from `script` and records every request in `.calls`."""

    def __init__(self, script: Script, *, name: str = "scripted", latency: float = 0.0, context_tokens: int | None = None):
        self.name = name
        self.latency = latency
        """Seconds each call takes, standing in for a real model's wait (benchmarks)."""
        self.context_tokens = context_tokens
        """A context window to play (tests of prompts fitted to a small model)."""
        self.calls: list[Request] = []
        self._lock = threading.Lock()
        self._script = script
        self._position = 0

    def complete(self, messages, *, tools=None, tool_choice=None, max_tokens=1024, temperature=0.7) -> Completion:
        """Raises: ScriptExhausted when the script has no answer for this request."""
        request = Request(json.loads(json.dumps(messages)), tools, tool_choice, max_tokens, temperature)
        with self._lock:
            self.calls.append(request)
            number = len(self.calls)
            reply = self._next(request)
        if self.latency > 0:
            time.sleep(self.latency)  # outside the lock: calls wait side by side, like a provider's
        if reply is None:
            raise ScriptExhausted(
                f"scripted model '{self.name}' has no answer for call {number} "
                f"(script exhausted; last user message: {request.last_user[:100]!r})"
            )
        message = _as_message(reply, f"call_{request.turns}")  # ids from the request alone: reruns match
        prompt = max(1, len(json.dumps(messages)) // 4 + len(json.dumps(tools or [])) // 4)
        completion = max(1, len(json.dumps(message)) // 4)
        cost = (prompt * USD_PER_MILLION_PROMPT + completion * USD_PER_MILLION_COMPLETION) / 1e6
        return Completion(message, self.name, prompt, completion, cost, 0.0,
                          "tool_calls" if message.get("tool_calls") else "stop")

    def _next(self, request: Request) -> Reply | None:
        script = self._script
        if callable(script):
            return script(request)
        rules = [item for item in script if isinstance(item, Rule)]
        if script and len(rules) == len(script):
            for rule in rules:
                if rule.matches(request):
                    rule.used += 1
                    return rule.answer(request) if callable(rule.answer) else rule.answer
            return None
        if self._position >= len(script):
            return None
        self._position += 1
        reply = script[self._position - 1]
        assert not isinstance(reply, Rule), "a script mixes rules and replies"
        return reply


def _as_message(reply: Reply, call_prefix: str) -> dict[str, Any]:
    if isinstance(reply, Answer):
        return reply.message(call_prefix)
    if isinstance(reply, str):
        return assistant_message(reply, None)
    if isinstance(reply, dict):
        return assistant_message(reply.get("content"), reply.get("tool_calls"))
    raise TypeError(f"a script answer must be a str, dict or Answer, not {type(reply).__name__}")
