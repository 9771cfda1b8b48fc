"""The seed agent with a model that never calls tools: one fenced shell block per answer is
the action (scripted text-only model, the real gateway and ledger, real files and shell)."""

from __future__ import annotations

import json

from dgm.llm import Answer, Gateway, ScriptedModel
from tests.llm.conftest import SEED_DIR, ledger_rows, seed_module
from tests.seeds.conftest import make_config, run_on_host
from tests.seeds.test_seed_agent import workspace_with

SOLUTION = "def add(a, b):\n    return a + b\n"


def test_text_only_model_works_through_shell_blocks(tmp_path, archive):
    script = [
        Answer.say("Let me look.\n```bash\nls\n```"),
        Answer.say("I will write it:\n```sh\ncat > solution.py <<'EOF'\n" + SOLUTION + "EOF\npython3 -c 'import solution; print(solution.add(2, 3))'\n```"),
        Answer.say("Here is the idea in Python, not to run:\n```python\nprint('no')\n```\nand I am thinking."),
        Answer.say("Two at once:\n```bash\necho one\n```\n```bash\necho two\n```"),
        Answer.say("```\necho $((6 * 7)) > answer.txt; cat answer.txt; exit 3\n```"),
        Answer.say("Done.\n```bash\nfinish\n```"),
    ]
    model = ScriptedModel(script, name="scripted:dry-run")
    work = workspace_with(tmp_path, {"solution.py": b"def add(a, b):\n    pass\n"})
    with Gateway(model, make_config(), archive) as gateway:
        run = run_on_host(gateway, SEED_DIR, "Complete add in solution.py.", work)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["finished"] is True
    assert (work / "solution.py").read_text() == SOLUTION
    assert (work / "answer.txt").read_text() == "42\n"
    calls = model.calls
    assert "solution.py" in calls[1].last_user, "the output of `ls` goes back to the model"
    assert calls[2].last_user.startswith("Output of your command:") and "5" in calls[2].last_user
    assert "You did not call a tool" in calls[3].last_user, "a python block is not an action: nudged"
    assert "You did not call a tool" in calls[4].last_user, "two shell blocks are not an action: nudged"
    assert "exit code 3" in calls[5].last_user and "42" in calls[5].last_user, "same output format as the bash tool"
    assert not (work / "one").exists()
    assert "one fenced ```bash block" in calls[0].system
    assert len(ledger_rows(archive)) == len(script)


def test_text_mode_output_is_capped_like_the_bash_tool(tmp_path, archive):
    tools = seed_module("tools")
    model = ScriptedModel([Answer.say("```bash\nhead -c 100000 /dev/zero | tr '\\0' 'y'\n```"),
                           Answer.say("```bash\nfinish\n```")])
    with Gateway(model, make_config(), archive) as gateway:
        run = run_on_host(gateway, SEED_DIR, "Print a lot.", workspace_with(tmp_path, {}))
    assert run.returncode == 0, run.stderr
    output = model.calls[1].last_user
    assert "bytes omitted" in output and len(output) < tools.OUTPUT_CHARS + 200


def test_a_multi_megabyte_answer_is_clipped_before_it_joins_the_conversation(tmp_path, archive):
    agent = seed_module("agent")
    model = ScriptedModel([Answer.say("z" * 3_000_000), Answer.say("```bash\nfinish\n```")])
    with Gateway(model, make_config(max_tokens=10**7), archive) as gateway:
        run = run_on_host(gateway, SEED_DIR, "Say a lot.", workspace_with(tmp_path, {}))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["finished"] is True
    assert sum(len(m.get("content") or "") for m in model.calls[1].messages) < agent.ANSWER_CHARS + 20_000


def test_shell_block_parsing():
    blocks = seed_module("tools").shell_blocks
    assert blocks("```bash\nls -la\n```") == ["ls -la"]
    assert blocks("```python\nx = 1\n```\nthen\n```sh\necho hi\n```") == ["echo hi"]
    assert blocks("```\na\n```\n```shell\nb\n```") == ["a", "b"]
    assert blocks("no code here") == [] and blocks("```bash\n\n```") == []
    assert blocks("```bash\nunclosed") == []
