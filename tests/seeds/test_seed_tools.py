"""The seed agent's tools, in-process: every mistake comes back as text the model can use."""

from __future__ import annotations

import json
import time

from tests.llm.conftest import seed_module


def toolbox(tmp_path):
    return seed_module("tools").Toolbox(str(tmp_path))


def run(box, name, **args):
    return box.run(name, json.dumps(args))


def test_edit_replaces_a_unique_match_and_explains_misses(tmp_path):
    (tmp_path / "m.py").write_text("x = 1\ny = 1\n")
    box = toolbox(tmp_path)
    text, done = run(box, "edit", path="m.py", old_str="x = 1", new_str="x = 2")
    assert not done and "Edited m.py" in text and "x = 2" in text
    assert (tmp_path / "m.py").read_text() == "x = 2\ny = 1\n"
    assert run(box, "edit", path="m.py", old_str="z = 0", new_str="")[0].startswith("Error: old_str was not found")
    assert "occurs 2 times" in run(box, "edit", path="m.py", old_str=" = ", new_str=" := ")[0]
    assert "SyntaxError" in run(box, "edit", path="m.py", old_str="y = 1", new_str="y = (")[0]
    assert run(box, "edit", path="m.py", old_str=" = ", new_str="=", replace_all=True)[0].startswith("Edited")


def test_view_numbers_lines_and_lists_directories(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.txt").write_text("\n".join(f"line {i}" for i in range(1, 501)))
    box = toolbox(tmp_path)
    text = run(box, "view", path="pkg/a.txt", start_line=499)[0]
    assert "   499\tline 499" in text and "[lines 499-500 of 500]" in text
    assert "[lines 1-400 of 500]" in run(box, "view", path="pkg/a.txt")[0]
    assert "pkg/a.txt" in run(box, "view", path=".")[0]
    assert run(box, "view", path="missing.py")[0].startswith("Error: missing.py does not exist")


def test_bash_runs_in_the_workspace_with_timeout_and_output_cap(tmp_path):
    box = toolbox(tmp_path)
    assert run(box, "bash", command="pwd")[0] == f"[exit code 0]\n{tmp_path}\n"
    assert run(box, "bash", command="exit 3")[0].startswith("[exit code 3]")
    started = time.monotonic()
    assert "killed after 1s timeout" in run(box, "bash", command="sleep 30", timeout=1)[0]
    assert time.monotonic() - started < 10
    flood = run(box, "bash", command="yes | head -c 5000000")[0]
    assert len(flood) < 20_000 and "bytes omitted" in flood


def test_bad_calls_are_explained(tmp_path):
    box = toolbox(tmp_path)
    assert box.run("bash", "{not json")[0].startswith("Error: the arguments of bash are not a valid JSON")
    assert box.run("rm_rf", "{}")[0].startswith("Error: unknown tool")
    assert box.run("write", json.dumps({"path": "a"}))[0].startswith("Error: wrong arguments for write")
    assert run(box, "finish", summary="done") == ("Finished: done", True)


def test_history_shortening_keeps_recent_tool_output():
    seed_agent = seed_module("agent")
    messages = [{"role": "system", "content": "s"}] + [{"role": "tool", "content": "x" * 10_000} for _ in range(20)]
    assert seed_agent.shorten_history(messages, limit=120_000, keep=8)
    assert all(m["content"] == "x" * 10_000 for m in messages[-8:])
    assert "older output removed" in messages[1]["content"]
