"""Models: the scripted model's contract, litellm through its mock_response, retries."""

from __future__ import annotations

import json
import time

import pytest

from dgm.config import ModelConfig
from dgm.errors import ConfigError
from dgm.llm import (Answer, LiteLLMModel, ModelError, RetryingModel, Rule, ScriptedModel, ScriptExhausted,
                     TransientModelError, make_model)
from dgm.llm.models import Completion, assistant_message

USER = [{"role": "user", "content": "hi"}]


def test_a_list_script_answers_in_order_records_prompts_and_runs_out_loudly():
    model = ScriptedModel(["one", Answer.call("view", path="a.py")])
    assert model.complete(USER, max_tokens=7).content == "one"
    second = model.complete([*USER, {"role": "user", "content": "again"}], tools=[{"type": "function", "function": {"name": "view"}}])
    assert json.loads(second.tool_calls[0]["function"]["arguments"]) == {"path": "a.py"}
    assert [c.last_user for c in model.calls] == ["hi", "again"] and model.calls[0].max_tokens == 7
    with pytest.raises(ScriptExhausted, match="no answer for call 3"):
        model.complete(USER)
    assert len(model.calls) == 3, "the request that found no answer is recorded too"
    assert not issubclass(ScriptExhausted, ModelError), "running out must not pass for an agent failure"


def test_rules_match_the_last_user_message_and_respect_their_counts():
    model = ScriptedModel([
        Rule("weather", "sunny", times=1),
        Rule(lambda r: r.turns >= 1, lambda r: f"turn {r.turns}"),
    ])
    assert model.complete([{"role": "user", "content": "the weather?"}]).content == "sunny"
    with pytest.raises(ScriptExhausted):
        model.complete([{"role": "user", "content": "the weather?"}])
    history = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}, {"role": "user", "content": "z"}]
    assert model.complete(history).content == "turn 1"


def test_scripted_usage_is_deterministic_and_priced():
    first = ScriptedModel(["a" * 400]).complete(USER)
    again = ScriptedModel(["a" * 400]).complete(USER)
    assert (first.prompt_tokens, first.completion_tokens, first.cost_usd) == (again.prompt_tokens, again.completion_tokens, again.cost_usd)
    assert first.completion_tokens >= 100 and first.cost_usd > 0


def test_litellm_model_through_mock_response():
    model = LiteLLMModel("openai/gpt-4o-mini", mock_response="hello there", max_retries=0)
    completion = model.complete(USER, max_tokens=10, temperature=0)
    assert isinstance(completion, Completion)
    assert completion.content == "hello there" and completion.message["role"] == "assistant"
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0
    assert completion.cost_usd >= 0 and completion.model == "openai/gpt-4o-mini"


def test_litellm_tool_calls_come_back_in_openai_format():
    call = {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}}
    model = LiteLLMModel("openai/gpt-4o-mini", mock_response="", mock_tool_calls=[call], max_retries=0)
    tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object", "properties": {}}}}]
    completion = model.complete(USER, tools=tools)
    assert completion.tool_calls == [call]


def test_litellm_rate_limits_are_retried_with_backoff_then_become_a_model_error():
    sleeps: list[float] = []
    model = LiteLLMModel("openai/gpt-4o-mini", mock_response="litellm.RateLimitError", max_retries=3,
                         base_delay=0.5, sleep=sleeps.append)
    with pytest.raises(ModelError, match="gave up after 4 attempts"):
        model.complete(USER)
    assert sleeps == [0.5, 1.0, 2.0]


class Flaky:
    """Fails transiently `failures` times, then answers; a stand-in at the model boundary."""

    name = "flaky"
    context_tokens = None

    def __init__(self, failures: int, error: type[Exception] = TransientModelError):
        self.failures, self.error, self.attempts = failures, error, 0

    def complete(self, messages, **kwargs):
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error("503 from upstream")
        return Completion(assistant_message("ok", None), self.name)


def test_transient_errors_are_retried_and_other_errors_are_not():
    flaky = Flaky(2)
    assert RetryingModel(flaky, max_retries=3, sleep=lambda s: None).complete(USER).content == "ok"
    assert flaky.attempts == 3
    broken = Flaky(1, error=ModelError)
    with pytest.raises(ModelError):
        RetryingModel(broken, max_retries=3, sleep=lambda s: None).complete(USER)
    assert broken.attempts == 1


def test_malformed_answers_are_model_errors():
    with pytest.raises(ModelError, match="no function name"):
        assistant_message(None, [{"id": "x", "function": {"arguments": "{}"}}])
    with pytest.raises(ModelError, match="content"):
        assistant_message(["not", "text"], None)


def test_make_model_chooses_scripted_or_litellm():
    assert make_model(ModelConfig(name="")).name == "scripted:dry-run"
    assert isinstance(make_model(ModelConfig(name="scripted:fail-smoke")), ScriptedModel)
    real = make_model(ModelConfig(name="ollama/qwen2.5-coder", api_base="http://localhost:11434", max_retries=2))
    assert isinstance(real, LiteLLMModel) and real.api_base == "http://localhost:11434" and real.max_retries == 2
    with pytest.raises(ConfigError, match="unknown scripted scenario"):
        make_model(ModelConfig(name="scripted:nope"))


def test_each_fault_of_an_openai_compatible_server_is_a_model_error_or_a_usable_answer():
    """litellm against the real fault server, one fault at a time, no retries: what reaches the
    gateway is a ModelError (transient where a retry may help) or a well-formed message."""
    from dgm.llm import TransientModelError
    from tests.llm.fault_server import FAULTS, FaultServer

    transient = {"rate_limit", "server_error", "unavailable", "hang", "drop", "invalid_json"}
    tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object", "properties": {}}}}]
    with FaultServer(hang_seconds=3.0) as server:
        model = LiteLLMModel("openai/fault", api_base=server.base_url, api_key="x", timeout=1.0, max_retries=0)
        for kind in FAULTS:
            server.deck = [kind]
            try:
                completion = model.complete([{"role": "user", "content": "hi"}], tools=tools)
            except ModelError as exc:
                assert kind not in ("bad_arguments", "unknown_tool", "huge"), (kind, exc)
                assert isinstance(exc.__cause__, TransientModelError) == (kind in transient), (kind, exc)
                continue
            assert kind in ("bad_arguments", "unknown_tool", "huge"), kind
            assert completion.tool_calls or len(completion.content or "") > 1_000_000


def test_a_rate_limit_waits_as_long_as_retry_after_says():
    from tests.llm.fault_server import FaultServer

    with FaultServer() as server:
        model = LiteLLMModel("openai/fault", api_base=server.base_url, api_key="x", timeout=5, max_retries=2, base_delay=0.01)
        server.deck = ["valid"]
        model.complete([{"role": "user", "content": "warm up"}])  # litellm's first import is slow
        server.deck = ["valid", "rate_limit"]  # dealt from the end
        started = time.monotonic()
        completion = model.complete([{"role": "user", "content": "hi"}])
        waited = time.monotonic() - started
    assert server.served == ["valid", "rate_limit", "valid"] and completion.content
    assert waited >= 0.95, "the server's Retry-After: 1 was not honoured (the backoff alone is 0.01 s)"
