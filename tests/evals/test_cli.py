"""`dgm eval` end to end on the example custom suite."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.evals.conftest import oracle_answers

EXAMPLES = Path(__file__).parents[2] / "evals" / "examples" / "exercises"


@pytest.mark.docker
def test_dgm_eval_json_and_table(make_agent, tmp_path):
    leap = "def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n"
    answers = oracle_answers([((EXAMPLES / "leap" / "workspace" / "leap.py").read_bytes(), {"leap.py": leap})])
    agent = make_agent("oracle", "oracle.py", {"answers.json": answers})
    env = {"DGM_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "COLUMNS": "300"}
    cmd = [sys.executable, "-m", "dgm.cli", "eval", str(agent), "--suite", f"custom:{EXAMPLES}", "--backend", "docker"]
    out = subprocess.run(cmd + ["--json"], capture_output=True, text=True, env=env, check=True).stdout
    report = json.loads(out)
    assert report["score"] == 0.5 and not report["reused"]
    assert {r["task_id"].rsplit("/", 1)[1]: r["passed"] for r in report["results"]} == {"leap": True, "word-count": False}
    (suite,) = report["breakdown"]  # the breakdown `dgm archive show` and the report show too
    assert (suite["suite"], suite["passed"], suite["tasks"], len(suite["ci95"])) == ("custom-exercises", 1, 2, 2)
    table = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert "score: 0.500 (1/2)" in table and "reused" in table
    assert f"cache: {tmp_path / 'cache'}" in table and "--no-reuse" in table  # says where, and how not to
    fresh = json.loads(subprocess.run(cmd + ["--json", "--no-reuse"], capture_output=True, text=True, env=env, check=True).stdout)
    assert not fresh["reused"] and fresh["score"] == 0.5 and fresh["cache_dir"] == str(tmp_path / "cache" / "evals")


def test_dgm_eval_bad_input_is_one_line(tmp_path):
    cmd = [sys.executable, "-m", "dgm.cli", "eval", str(tmp_path), "--suite", "humaneval"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "agent.py" in done.stderr
    (tmp_path / "agent.py").write_text("")
    done = subprocess.run(cmd[:-1] + ["nope"], capture_output=True, text=True)
    assert done.returncode == 2 and "unknown suite" in done.stderr


@pytest.mark.docker
def test_dgm_eval_gives_the_agent_a_model_through_the_gateway(tmp_path):
    """With --model, the seed agent talks to the (scripted) model through a gateway whose
    ledger counts the spend; results are cached per model, never shared with no-model runs."""
    seed = Path(__file__).parents[2] / "archive" / "seeds" / "coder"
    env = {"DGM_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "dgm.cli", "eval", str(seed), "--suite", "humaneval", "--limit", "1", "--json"]
    with_model = json.loads(subprocess.run(cmd + ["--model", "scripted:dry-run"], capture_output=True, text=True, env=env, check=True).stdout)
    assert with_model["model"] == "scripted:dry-run" and with_model["llm_spend_usd"] > 0
    assert not with_model["reused"]
    without = json.loads(subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout)
    assert without["model"] is None and without["llm_spend_usd"] == 0 and not without["reused"]
