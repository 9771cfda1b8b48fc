"""The seed agent inside a real sandbox, reaching the scripted model through the real gateway
via the mounted /run/llm (socket + token), as the loop and the evals run it."""

from __future__ import annotations

import pytest

from dgm.llm import Gateway, ScriptedModel, dry_run_script
from dgm.loop.child import SMOKE_AFTER, SMOKE_FILE, SMOKE_INSTRUCTION, SMOKE_WORKSPACE
from dgm.sandbox import Limits
from tests.llm.conftest import SEED_DIR, ledger_rows
from tests.seeds.conftest import make_config

BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), pytest.param("bwrap", marks=pytest.mark.bwrap)]
LIMITS = Limits(wall_seconds=120, exec_timeout=90, memory_mb=512, pids=64)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    from tests.sandbox.conftest import ensure_built
    from dgm.sandbox import open_backend

    ensure_built(request.param)
    return open_backend(request.param)


def test_seed_agent_solves_tasks_in_a_sandbox_through_the_mounted_gateway(backend, archive, monkeypatch):
    from dgm.evals import run_agent

    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-sandbox-777")
    model = ScriptedModel(dry_run_script(), name="scripted:dry-run")
    with Gateway(model, make_config(), archive) as gateway:
        with gateway.grant(agent_id="seed0", task_id="smoke/1", purpose="solve") as mounts:
            smoke = run_agent(backend, SEED_DIR, SMOKE_INSTRUCTION, SMOKE_WORKSPACE, limits=LIMITS, llm_mounts=mounts)
        with gateway.grant(agent_id="seed0", task_id="humaneval/0", purpose="solve") as mounts:
            prompt = b'def add(a, b):\n    """Add two numbers."""\n'
            solved = run_agent(backend, SEED_DIR, "Complete the function `add` in `solution.py`.",
                               {"solution.py": prompt}, limits=LIMITS, llm_mounts=mounts)
    assert smoke.result.exit_code == 0, smoke.log
    assert smoke.files[SMOKE_FILE].decode().strip() == SMOKE_AFTER
    assert "=== step 2: write ===" in smoke.log
    assert solved.result.exit_code == 0, solved.log
    assert solved.files["solution.py"].startswith(prompt) and b"return None" in solved.files["solution.py"]
    assert "[exit code 0]" in model.calls[-1].tool_results[-1], "python3 ran the edited file inside the sandbox"
    assert "sk-canary" not in smoke.log + solved.log
    rows = ledger_rows(archive)
    assert {(r["agent_id"], r["outcome"]) for r in rows} == {("seed0", "ok")}
    assert {r["task_id"] for r in rows} == {"smoke/1", "humaneval/0"}
