"""A short real run whose model is a misbehaving OpenAI-compatible server (tests/llm/
fault_server.py): rate limits, 5xx, hangs, dropped connections, invalid JSON, no choices,
broken tool calls, a multi-megabyte answer. The run must finish its iterations cleanly, and
every failed call must be on the ledger with its outcome."""

from __future__ import annotations

import sqlite3

import pytest

from tests.llm.fault_server import FAULTS, FaultServer
from tests.loop.conftest import dgm

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FAILING = {"rate_limit", "server_error", "unavailable", "hang", "drop", "invalid_json", "empty_choices"}
"""What the model layer cannot use; the rest (broken tool calls, a huge answer) are answers
that reach the agent, which copes with them."""


def fault_config(path, base_url: str):
    path.write_text(f"""name = "{path.stem}"
seed = 7

[model]
name = "openai/fault"
api_base = "{base_url}"
timeout = 2.0
max_retries = 2

[loop]
children_in_flight = 1
max_iterations = 2
self_modify_timeout = 30.0

[eval]
suites = ["humaneval"]
stages = [{{ tasks = 2 }}]
workers = 1
task_timeout = 20.0
""", encoding="utf-8")
    return path


def test_a_run_against_a_faulty_model_finishes_cleanly_with_every_failure_on_the_ledger(tmp_path):
    with FaultServer(seed=3, hang_seconds=4.0) as server:
        run_dir = tmp_path / "faulty"
        dgm("init", str(run_dir), "--config", str(fault_config(tmp_path / "faulty.toml", server.base_url)), check=True)
        result = dgm("run", "--run", str(run_dir), timeout=240)
        served = list(server.served)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output, output
    verify = dgm("archive", "verify", "--run", str(run_dir))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with sqlite3.connect(run_dir / "archive.db") as db:
        outcomes = [row[0] for row in db.execute("SELECT outcome FROM llm_calls")]
        diagnoses = db.execute("SELECT COUNT(*) FROM llm_calls WHERE purpose = 'diagnose'").fetchone()[0]
    faults = [kind for kind in served if kind != "valid"]
    assert set(faults) == set(FAULTS), f"the run met too few kinds of fault: {served}"
    assert diagnoses >= 2, "both iterations asked for a diagnosis"
    failing = [kind for kind in served if kind in FAILING]
    assert outcomes.count("error") == len(failing), f"each failed call is an 'error' row: {served} vs {outcomes}"
    assert outcomes.count("ok") == len(served) - len(failing), "each usable answer is an 'ok' row"
    assert set(outcomes) == {"ok", "error"}
