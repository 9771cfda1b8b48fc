import pytest

from dgm.loop.child import SMOKE_FILE, clean_tree, invalid_reason, smoke_passed
from dgm.loop.diagnose import DiagnosisError, FailedTask, diagnosis_messages, parse_diagnosis

PARENT = {"agent.py": b"print('hi')\n", "tools.py": b"X = 1\n"}


def test_diagnosis_is_parsed_from_fenced_or_bare_json():
    fenced = 'Thoughts first.\n```json\n{"problem_statement": "Add retries.", "log_summary": "timeouts"}\n```'
    assert parse_diagnosis(fenced).problem_statement == "Add retries."
    bare = 'Sure! {"problem_statement": "Cap output.", "improvement_proposal": "less noise"} done'
    diagnosis = parse_diagnosis(bare)
    assert diagnosis.improvement_proposal == "less noise"
    assert diagnosis.implementation_suggestion == ""


@pytest.mark.parametrize("garbage", ["", "no json here", '{"log_summary": "x"}', "{not json}", "[1, 2]"])
def test_garbage_diagnosis_is_an_error_not_a_crash(garbage):
    with pytest.raises(DiagnosisError):
        parse_diagnosis(garbage)


def test_diagnosis_prompt_holds_code_and_failure_logs():
    messages = diagnosis_messages(PARENT, [FailedTask("humaneval/3", "AssertionError at line 4")])
    text = messages[-1]["content"]
    assert "print('hi')" in text and "humaneval/3" in text and "AssertionError" in text
    assert "problem_statement" in text


def test_a_small_context_window_clips_the_diagnosis_prompt_to_fit():
    big = {"agent.py": b"x = 1\n" * 4000, "tools.py": b"y = 2\n" * 4000}
    failures = [FailedTask(f"humaneval/{i}", "Traceback line\n" * 500) for i in range(5)]
    full = diagnosis_messages(big, failures)
    fitted = diagnosis_messages(big, failures, max_chars=12_000)
    assert sum(len(m["content"]) for m in full) > 30_000, "unclipped, it would not fit"
    assert sum(len(m["content"]) for m in fitted) <= 12_000
    text = fitted[-1]["content"]
    assert all(f"humaneval/{i}" in text for i in range(5)) and "### agent.py" in text and "problem_statement" in text
    assert diagnosis_messages(big, failures, max_chars=10**9) == full


def test_the_gateway_says_how_long_a_host_prompt_may_be():
    from dgm.config import RunConfig
    from dgm.llm import Gateway
    from dgm.llm.scripted import ScriptedModel

    small = Gateway(ScriptedModel([], context_tokens=8192), RunConfig(name="t"), ledger=None)  # type: ignore[arg-type]
    assert small.host_prompt_chars() == int((8192 - 1024) * 2.5)
    assert Gateway(ScriptedModel([]), RunConfig(name="t"), ledger=None).host_prompt_chars() is None  # type: ignore[arg-type]


def test_child_checks():
    assert invalid_reason(PARENT, dict(PARENT)).startswith("empty diff")
    assert invalid_reason(PARENT, {"tools.py": b"X = 2\n"}) == "agent.py was deleted"
    broken = invalid_reason(PARENT, {**PARENT, "agent.py": b"def f(:\n"})
    assert broken.startswith("agent.py does not compile (line 1)")
    assert invalid_reason(PARENT, {**PARENT, "tools.py": b"X = 2\n"}) is None


def test_caches_are_not_part_of_a_child():
    files = {**PARENT, "__pycache__/agent.cpython-311.pyc": b"\0", "x/y.pyc": b"", ".git/HEAD": b"ref"}
    assert clean_tree(files) == PARENT


def test_smoke_check_reads_the_edited_file():
    assert smoke_passed({SMOKE_FILE: b"goodbye world\n"})
    assert not smoke_passed({SMOKE_FILE: b"hello world\n"})
    assert not smoke_passed({})


def test_failure_logs_for_the_diagnosis_never_quote_the_hidden_tests():
    from dgm.loop.iteration import agent_side

    log = "exit: ok\n--- stdout ---\nwrote solution.py\n--- grade ---\nfailed: failed\nassert candidate(3) == 27  # hidden"
    shown = agent_side(log, "failed")
    assert "wrote solution.py" in shown and "graded: failed (failed)" in shown
    assert "candidate(3)" not in shown and "# hidden" not in shown
