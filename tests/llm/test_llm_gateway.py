"""The gateway over its real unix socket, with a real Archive as the ledger."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dgm.errors import BudgetExhausted
from dgm.llm import Answer, Gateway, GatewayError, GatewayLimits, Rule, ScriptedModel, ScriptExhausted
from tests.llm.conftest import chat, ledger_rows, make_config, post, socket_of, token_of


def outcomes(archive) -> list[tuple]:
    return [(r['agent_id'], r['task_id'], r['purpose'], r['outcome']) for r in ledger_rows(archive)]


def test_an_ok_call_answers_in_openai_format_and_is_recorded(archive):
    model = ScriptedModel([Answer.call("bash", command="ls")], name="scripted:dry-run")
    with Gateway(model, make_config(), archive) as gateway, gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
        tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
        status, body = post(socket_of(mounts), chat(tools=tools), token_of(mounts))
    assert status == 200, body
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "bash", "arguments": '{"command": "ls"}'}
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] > 0
    assert model.calls[0].tools[0]["function"]["name"] == "bash"
    [row] = ledger_rows(archive)
    assert (row['agent_id'], row['task_id'], row['purpose'], row['outcome']) == ("a1", "t1", "solve", "ok")
    assert row['prompt_tokens'] == body["usage"]["prompt_tokens"] and row['cost_usd'] > 0


def test_refusals_wrong_token_disallowed_model_oversized_and_revoked(archive):
    model = ScriptedModel(lambda request: "fine", name="scripted:dry-run")
    limits = GatewayLimits(max_request_bytes=10_000)
    with Gateway(model, make_config(), archive, limits=limits) as gateway:
        with gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
            sock, token = socket_of(mounts), token_of(mounts)
            assert post(sock, chat(), "not-the-token")[0] == 401
            assert post(sock, chat(), None)[0] == 401
            status, body = post(sock, chat(model="openai/gpt-4o"), token)
            assert (status, body["error"]["code"]) == (403, "model_not_allowed")
            status, body = post(sock, chat("x" * 20_000), token)
            assert (status, body["error"]["code"]) == (413, "request_too_large")
            assert post(sock, b"{not json", token)[0] == 400
            assert post(sock, chat(stream=True), token)[0] == 400
            image = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x"}}]}]}
            assert post(sock, image, token)[0] == 400
            assert post(sock, chat(model="scripted:dry-run"), token)[0] == 200  # the run's own model, by name
        assert not sock.exists()
        assert post(gateway.socket_path, chat(), token)[0] == 401, "a token dies with its grant"
    assert model.calls and len(model.calls) == 1, "refused requests never reach the model"
    rows = outcomes(archive)
    assert rows.count((None, None, "solve", "refused")) == 3
    assert rows.count(("a1", "t1", "solve", "refused")) == 5
    assert rows.count(("a1", "t1", "solve", "ok")) == 1


def test_max_tokens_is_clamped_and_only_allowed_fields_reach_the_model(archive):
    model = ScriptedModel(lambda request: "ok", name="scripted:dry-run")
    with Gateway(model, make_config(max_tokens=300), archive) as gateway, \
            gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
        for asked in (100_000, 50, None):
            extra = {"max_tokens": asked} if asked else {}
            body = chat(api_base="http://evil.example", extra_headers={"X": "1"}, temperature=9, **extra)
            assert post(socket_of(mounts), body, token_of(mounts))[0] == 200
    assert [c.max_tokens for c in model.calls] == [300, 50, 300]
    assert all(c.temperature == 2.0 for c in model.calls)
    assert model.calls[0].messages == [{"role": "user", "content": "hello"}]


def test_spent_budget_refuses_sandbox_and_host_calls(archive):
    model = ScriptedModel(lambda request: "x" * 400, name="scripted:dry-run")
    config = make_config(usd_per_task=0.0, tokens_per_task=150)
    with Gateway(model, config, archive) as gateway, gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
        assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200  # 100+ completion tokens
        assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200
        for _ in range(2):  # the second refusal does not even read the ledger
            status, body = post(socket_of(mounts), chat(), token_of(mounts))
            assert (status, body["error"]["code"]) == (402, "budget_exhausted")
        # another task of the same agent still has its own budget
        assert gateway.complete_for_host([{"role": "user", "content": "hi"}], "a1", "diagnose", task_id="t2").content
    run_config = make_config(tokens_total=1)
    with Gateway(model, run_config, archive) as gateway:
        with pytest.raises(BudgetExhausted, match="run budget"):
            gateway.complete_for_host([{"role": "user", "content": "hi"}], agent_id="a1", purpose="diagnose")
    assert len(model.calls) == 3
    rows = outcomes(archive)
    assert rows.count(("a1", "t1", "solve", "budget")) == 2
    assert rows[-1] == ("a1", None, "diagnose", "budget")


def test_rate_and_call_limits_per_token(archive):
    model = ScriptedModel(lambda request: "ok", name="scripted:dry-run")
    with Gateway(model, make_config(), archive, limits=GatewayLimits(calls_per_grant=3, calls_per_minute=2)) as gateway:
        with gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
            codes = [post(socket_of(mounts), chat(), token_of(mounts)) for _ in range(3)]
        assert [c[0] for c in codes] == [200, 200, 429] and codes[2][1]["error"]["code"] == "rate_limited"
        gateway.limits = GatewayLimits(calls_per_grant=3, calls_per_minute=100)
        with gateway.grant(agent_id="a1", task_id="t2", purpose="solve") as mounts:
            codes = [post(socket_of(mounts), chat(), token_of(mounts))[0] for _ in range(4)]
        assert codes == [200, 200, 200, 429]


def test_grant_directory_is_usable_by_the_sandbox_user_and_removed(archive):
    with Gateway(ScriptedModel(["ok"]), make_config(), archive) as gateway:
        with gateway.grant(agent_id="a1", task_id=None, purpose="self-modify") as mounts:
            [mount] = mounts
            assert mount.sandbox_path == "/run/llm" and mount.read_only
            folder = Path(mount.host_path)
            assert stat.S_IMODE(folder.stat().st_mode) == 0o755
            assert stat.S_IMODE((folder / "token").stat().st_mode) == 0o444
            sock = (folder / "llm.sock").stat()
            assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o666
            assert sock.st_ino == gateway.socket_path.stat().st_ino
            assert len(str(gateway.socket_path)) < 100
        assert not folder.exists()
        base = gateway.socket_path.parent
    assert not base.exists(), "stop() removes the socket and every grant"


def test_script_running_out_inside_a_sandbox_is_loud_at_grant_exit(archive):
    model = ScriptedModel([Rule("hello", "hi", times=1)], name="scripted:dry-run")
    with Gateway(model, make_config(), archive) as gateway:
        with pytest.raises(ScriptExhausted, match="no answer for call 2"):
            with gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
                assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200
                status, body = post(socket_of(mounts), chat(), token_of(mounts))
                assert (status, body["error"]["code"]) == (500, "script_exhausted")
    assert outcomes(archive)[-1] == ("a1", "t1", "solve", "error")


def test_keys_stay_in_the_host_process(archive, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-gateway-123")
    with Gateway(ScriptedModel(["ok"]), make_config(), archive) as gateway:
        with gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
            for path in Path(mounts[0].host_path).iterdir():
                if path.is_file():
                    assert b"sk-canary" not in path.read_bytes()
    assert "OPENAI_API_KEY" in os.environ


def test_a_litellm_model_behind_the_gateway_answers_and_is_costed(archive):
    from dgm.llm import LiteLLMModel

    model = LiteLLMModel("openai/gpt-4o-mini", mock_response="from litellm", max_retries=0)
    config = make_config("openai/gpt-4o-mini")
    with Gateway(model, config, archive) as gateway, gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
        assert "gpt-4o-mini" in gateway.allowed_models, "the bare name is an alias of the run's model"
        status, body = post(socket_of(mounts), chat(model="gpt-4o-mini"), token_of(mounts))
    assert status == 200 and body["choices"][0]["message"]["content"] == "from litellm"
    [row] = ledger_rows(archive)
    assert row["model"] == "openai/gpt-4o-mini" and row["outcome"] == "ok" and row["cost_usd"] > 0


def test_model_failures_are_recorded_as_errors_and_reported_as_502(archive):
    from dgm.llm import ModelError

    def broken(request):
        raise ModelError("the provider said no")

    model = ScriptedModel(broken, name="scripted:dry-run")
    with Gateway(model, make_config(), archive) as gateway:
        with gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
            status, body = post(socket_of(mounts), chat(), token_of(mounts))
        assert (status, body["error"]["code"]) == (502, "model_error")
        with pytest.raises(ModelError):
            gateway.complete_for_host([{"role": "user", "content": "hi"}], "a1", "diagnose")
    assert [r[3] for r in outcomes(archive)] == ["error", "error"]


def test_clients_that_trickle_their_request_cannot_hold_every_slot(archive):
    """One sandbox opening every connection slot and sending half a request must not cut the
    others off for longer than the request deadline."""
    import socket
    import time

    model = ScriptedModel(lambda request: "fine", name="scripted:dry-run")
    limits = GatewayLimits(max_connections=4, request_seconds=1.0)
    with Gateway(model, make_config(), archive, limits=limits) as gateway:
        with gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as hog, \
                gateway.grant(agent_id="a2", task_id="t2", purpose="solve") as honest:
            squatters = []
            for _ in range(4):
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(str(socket_of(hog)))
                sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nContent-")
                squatters.append(sock)
            time.sleep(1.5)  # past the deadline: the squatters were cut off
            status, body = post(socket_of(honest), chat(), token_of(honest))
            for sock in squatters:
                sock.close()
    assert status == 200, body


def test_calls_are_recorded_with_their_iteration_and_step(archive):
    """The loop names the iteration and step of each call and the ledger keeps them as columns:
    a child's making under its parent with the child's iteration, its evaluation under itself."""
    model = ScriptedModel(lambda request: "ok", name="scripted:dry-run")
    with Gateway(model, make_config(), archive) as gateway:
        gateway.complete_for_host([{"role": "user", "content": "hi"}], "a1", "diagnose", task_id="diagnose/4", iteration=4, step="diagnose")
        with gateway.grant(agent_id="a1", task_id="smoke/4", purpose="solve", iteration=4, step="smoke") as mounts:
            assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200
        with gateway.for_iteration(4).grant(agent_id="a5", task_id="humaneval/HumanEval-0", purpose="solve") as mounts:
            assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200
        with gateway.grant(agent_id=None, task_id="HumanEval-0", purpose="solve") as mounts:  # `dgm eval`: no loop
            assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200
        with pytest.raises(GatewayError, match="unknown step 'evaluate'"):
            with gateway.grant(agent_id="a1", task_id="t", purpose="solve", step="evaluate"):
                pass
    rows = [(r["agent_id"], r["iteration"], r["step"], r["purpose"]) for r in ledger_rows(archive)]
    assert rows == [("a1", 4, "diagnose", "diagnose"), ("a1", 4, "smoke", "solve"), ("a5", 4, "solve", "solve"), (None, None, "solve", "solve")]


def test_the_making_of_a_child_has_the_child_budget(archive):
    """A child's budget covers its making, which is recorded under its parent: the parent's
    making of iteration 4 runs out, its making of iteration 5 (another child) does not."""
    model = ScriptedModel(lambda request: "x" * 400, name="scripted:dry-run")
    with Gateway(model, make_config(tokens_per_child=150), archive) as gateway:
        making = dict(agent_id="a1", purpose="self-modify", step="self-modify")
        with gateway.grant(task_id="self-modify/4", iteration=4, **making) as mounts:
            assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200  # 100+ completion tokens
            assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200
            status, body = post(socket_of(mounts), chat(), token_of(mounts))
            assert (status, body["error"]["code"]) == (402, "budget_exhausted") and "child budget" in body["error"]["message"]
        with pytest.raises(BudgetExhausted, match="child budget"):
            gateway.complete_for_host([{"role": "user", "content": "hi"}], "a1", "diagnose", task_id="diagnose/4", iteration=4, step="diagnose")
        with gateway.grant(task_id="self-modify/5", iteration=5, **making) as mounts:
            assert post(socket_of(mounts), chat(), token_of(mounts))[0] == 200
    assert [(r["iteration"], r["outcome"]) for r in ledger_rows(archive)] == [(4, "ok"), (4, "ok"), (4, "budget"), (4, "budget"), (5, "ok")]
