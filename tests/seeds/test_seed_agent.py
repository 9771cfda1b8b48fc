"""The seed agent end to end: scripted model, the real gateway and ledger, real files."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from dgm.llm import Answer, Gateway, ScriptedModel, dry_run_script
from dgm.loop.child import SMOKE_AFTER, SMOKE_FILE, SMOKE_INSTRUCTION, SMOKE_WORKSPACE, invalid_reason
from dgm.loop.diagnose import diagnosis_messages, parse_diagnosis, self_modify_instruction
from tests.llm.conftest import SEED_DIR, ledger_rows
from tests.seeds.conftest import copy_seed, make_config, run_on_host


def workspace_with(tmp_path: Path, files: dict[str, bytes], name: str = "work") -> Path:
    root = tmp_path / name / "work"
    root.mkdir(parents=True)
    for path, data in files.items():
        (root / path).write_bytes(data)
    return root


def test_seed_agent_does_the_smoke_task_through_the_gateway(tmp_path, archive):
    model = ScriptedModel(dry_run_script(), name="scripted:dry-run")
    work = workspace_with(tmp_path, dict(SMOKE_WORKSPACE))
    with Gateway(model, make_config(), archive) as gateway:
        run = run_on_host(gateway, SEED_DIR, SMOKE_INSTRUCTION, work)
    assert run.returncode == 0, run.stderr
    assert (work / SMOKE_FILE).read_text().strip() == SMOKE_AFTER
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["finished"] is True and summary["tokens"] > 0
    assert "=== step 2: write ===" in run.stderr, "the transcript goes to the log"
    assert (tmp_path / "work" / "transcript.jsonl").read_text().count("\n") >= 4
    assert [t for t in model.calls[0].tool_names] == ["bash", "view", "write", "edit", "finish"]
    assert SMOKE_INSTRUCTION in model.calls[0].first_user
    assert "goodbye world" in model.calls[-1].tool_results[-1], "tool output is fed back to the model"
    rows = ledger_rows(archive)
    assert len(rows) == len(model.calls) and {r["outcome"] for r in rows} == {"ok"}


def test_dry_run_self_modification_chain_makes_valid_distinct_children(tmp_path, archive):
    model = ScriptedModel(dry_run_script(), name="scripted:dry-run")
    parent = {p.name: p.read_bytes() for p in SEED_DIR.iterdir() if p.is_file()}
    with Gateway(model, make_config(), archive) as gateway:
        for generation in range(1, 3):
            answer = gateway.complete_for_host(diagnosis_messages(parent, []), agent_id=f"a{generation}")
            task = self_modify_instruction(parse_diagnosis(answer.content))
            agent_dir = copy_seed(tmp_path / f"agent{generation}") if generation == 1 else tmp_path / f"child{generation - 1}" / "work"
            work = workspace_with(tmp_path, parent, f"child{generation}")
            run = run_on_host(gateway, agent_dir, task, work, purpose="self-modify", task_id=f"self-modify/{generation}")
            assert run.returncode == 0, run.stderr
            child = {p.name: p.read_bytes() for p in work.iterdir() if p.is_file()}
            assert invalid_reason(parent, child) is None
            assert child["agent.py"].decode().count("# dry-run note") == generation
            parent = child
    purposes = [r["purpose"] for r in ledger_rows(archive)]
    assert purposes.count("diagnose") == 2 and purposes.count("self-modify") >= 8


@pytest.mark.parametrize("scenario", ["broken-agent", "fail-smoke", "empty-diff"])
def test_scenarios_break_the_child_as_named(tmp_path, archive, scenario):
    model = ScriptedModel(dry_run_script(scenario), name=f"scripted:{scenario}")
    parent = {p.name: p.read_bytes() for p in SEED_DIR.iterdir() if p.is_file()}
    with Gateway(model, make_config(model.name), archive) as gateway:
        task = self_modify_instruction(parse_diagnosis(gateway.complete_for_host(diagnosis_messages(parent, []), "p").content))
        work = workspace_with(tmp_path, parent, "child")
        assert run_on_host(gateway, SEED_DIR, task, work, purpose="self-modify").returncode == 0
        child = {p.name: p.read_bytes() for p in work.iterdir() if p.is_file()}
        reason = invalid_reason(parent, child)
        if scenario == "fail-smoke":
            assert reason is None
            smoke = workspace_with(tmp_path, dict(SMOKE_WORKSPACE), "smoke")
            run_on_host(gateway, work, SMOKE_INSTRUCTION, smoke)
            assert (smoke / SMOKE_FILE).read_bytes() == SMOKE_WORKSPACE[SMOKE_FILE]
        else:
            assert reason and reason.startswith({"broken-agent": "agent.py does not compile", "empty-diff": "empty diff"}[scenario])


def test_a_finite_script_stops_the_agent_and_fails_loudly(tmp_path, archive):
    from dgm.llm import ScriptExhausted

    model = ScriptedModel([Answer.call("bash", command="echo one")])
    work = workspace_with(tmp_path, {"a.txt": b"a"})
    with Gateway(model, make_config(), archive) as gateway:
        with pytest.raises(ScriptExhausted):
            run_on_host(gateway, SEED_DIR, "Do something.", work)
    assert len(model.calls) == 2


def test_step_cap_budget_refusal_and_model_nudges(tmp_path, archive):
    loop = ScriptedModel(lambda r: Answer.call("bash", command="true") if r.turns % 2 else Answer.say("thinking"))
    with Gateway(loop, make_config(), archive) as gateway:
        run = run_on_host(gateway, SEED_DIR, "Never finish.", workspace_with(tmp_path, {}), extra_env={"DGM_AGENT_MAX_STEPS": "5"})
    assert run.returncode == 0 and json.loads(run.stdout)["reason"] == "step cap of 5 reached"
    assert "You did not call a tool" in loop.calls[1].last_user

    chatty = ScriptedModel(lambda r: Answer.say("x" * 4000))
    with Gateway(chatty, make_config(tokens_per_task=2000), archive) as gateway:
        run = run_on_host(gateway, SEED_DIR, "Talk.", workspace_with(tmp_path, {}, "w2"), task_id="t-budget")
    assert run.returncode == 3 and "budget" in json.loads(run.stdout)["reason"]
    assert "budget" in {r["outcome"] for r in ledger_rows(archive)}


def test_seed_is_standard_library_only_and_fits_the_diagnosis_window():
    stdlib = {"argparse", "json", "os", "sys", "time", "http", "socket", "shutil", "signal", "subprocess", "tempfile"}
    local = {p.stem for p in SEED_DIR.glob("*.py")}
    for path in SEED_DIR.glob("*.py"):
        source = path.read_text()
        assert len(source) < 12_000, f"{path.name} would be clipped in the diagnosis prompt"
        for node in ast.walk(ast.parse(source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] in stdlib | local, f"{path.name} imports {name}"
    assert (SEED_DIR / "agent.py").read_text().count('if __name__ == "__main__":') == 1
