"""The dry-run script answers by the shape of each request; budgets read the ledger."""

from __future__ import annotations

import json

import pytest

from dgm.config import BudgetConfig
from dgm.errors import BudgetExhausted
from dgm.llm import Budget, ScriptedModel, dry_run_script
from dgm.loop.diagnose import DiagnosisError, diagnosis_messages, parse_diagnosis, self_modify_instruction

TOOLS = [{"type": "function", "function": {"name": n}} for n in ("bash", "view", "write", "edit", "finish")]


def tool_loop(model: ScriptedModel, task: str, results: dict[str, str] | None = None, turns: int = 12) -> list[tuple[str, dict]]:
    """Play the agent's side of a tool loop: every tool call gets a canned result."""
    messages = [{"role": "system", "content": "agent"}, {"role": "user", "content": task}]
    calls = []
    for _ in range(turns):
        message = model.complete(messages, tools=TOOLS).message
        messages.append(message)
        for call in message["tool_calls"]:
            name, args = call["function"]["name"], json.loads(call["function"]["arguments"])
            calls.append((name, args))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": (results or {}).get(name, "ok")})
        if calls[-1][0] == "finish":
            break
    return calls


def test_dry_run_diagnosis_is_a_usable_proposal_and_garbage_is_not():
    prompt = diagnosis_messages({"agent.py": b"print('hi')\n"}, [])
    answer = ScriptedModel(dry_run_script()).complete(prompt).content
    diagnosis = parse_diagnosis(answer)
    assert "[dry-run]" in diagnosis.problem_statement
    garbage = ScriptedModel(dry_run_script("garbage-diagnosis")).complete(prompt).content
    with pytest.raises(DiagnosisError):
        parse_diagnosis(garbage)


def test_dry_run_self_modification_views_edits_checks_and_finishes():
    model = ScriptedModel(dry_run_script())
    task = self_modify_instruction(parse_diagnosis(model.complete(diagnosis_messages({}, [])).content))
    view = '     1\t# dry-run note 1: earlier\n     2\tif __name__ == "__main__":'
    calls = tool_loop(model, task, {"view": view})
    assert [name for name, _ in calls] == ["bash", "view", "edit", "bash", "finish"]
    edit = calls[2][1]
    assert edit["old_str"] == 'if __name__ == "__main__":' and edit["new_str"].startswith("# dry-run note 2:")


def test_dry_run_solves_tasks_by_their_shape_and_never_runs_out():
    model = ScriptedModel(dry_run_script())
    smoke = tool_loop(model, "Edit the file greeting.txt in the workspace so that it contains exactly the line 'goodbye world'.")
    assert ("write", {"path": "greeting.txt", "content": "goodbye world\n"}) in smoke
    assert smoke[-1][0] == "finish"
    assert [n for n, _ in tool_loop(model, "Complete the function `f` in `solution.py`.")][-1] == "finish"
    assert ("write", {"path": "answer.txt", "content": "42\n"}) in tool_loop(model, "Write your answer to answer.txt.")
    for _ in range(50):  # a long dry run: the script answers forever, by shape
        tool_loop(model, "Fix the bug in `module.py`.")
    assert len(model.calls) > 150


def test_budgets_per_run_child_and_task_use_the_real_archive_ledger(archive, tmp_path):
    def record(agent, task, usd, tokens, purpose="solve", iteration=None, step=None):
        archive.record_llm_call(agent_id=agent, task_id=task, purpose=purpose, model="m", prompt_tokens=tokens,
                                completion_tokens=0, cost_usd=usd, latency=0.1, outcome="ok", iteration=iteration, step=step)

    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "agent.py").write_text("print(1)\n")
    parent = archive.add_seed(tmp_path / "seed").id
    record(parent, "self-modify/3", 0.25, 100, "self-modify", 3, "self-modify")
    record(parent, "smoke/3", 0.125, 10, "solve", 3, "smoke")
    budget = Budget(BudgetConfig(usd_per_child=0.5), archive)
    budget.check(agent_id=parent, task_id="self-modify/3", iteration=3, step="self-modify")
    record(parent, "smoke/3", 0.125, 10, "solve", 3, "smoke")
    with pytest.raises(BudgetExhausted, match="child budget"):
        budget.check(agent_id=parent, task_id="smoke/3", iteration=3, step="smoke")
    budget.check(agent_id=parent, task_id="self-modify/4", iteration=4, step="self-modify")  # another child: its own budget
    budget.check(agent_id=parent, task_id="humaneval/1", iteration=0, step="solve")  # the parent's own: never its children's making
    child = archive.add_child(parent, {"agent.py": b"print(2)\n"}, iteration=3).id
    with pytest.raises(BudgetExhausted, match="child budget"):  # born, the child is charged its making
        budget.check(agent_id=child, task_id="humaneval/1", iteration=3, step="solve")
    assert budget.child_spent(child).usd == archive.child_cost(child).usd == 0.5

    record("c9", "humaneval/1", 0.2, 1000)
    Budget(BudgetConfig(tokens_per_task=1001), archive).check(agent_id="c9", task_id="humaneval/1")
    with pytest.raises(BudgetExhausted, match="task budget of 1,000 tokens"):
        Budget(BudgetConfig(tokens_per_task=1000), archive).check(agent_id="c9", task_id="humaneval/1")
    Budget(BudgetConfig(tokens_per_task=1000), archive).check(agent_id="c8", task_id="humaneval/1")
    with pytest.raises(BudgetExhausted, match="run budget"):
        Budget(BudgetConfig(usd_total=0.6), archive).check(agent_id=None, task_id=None)
    Budget(BudgetConfig(), archive).check(agent_id="c9", task_id="humaneval/1")  # 0: unlimited
