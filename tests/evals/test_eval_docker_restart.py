"""`dgm eval` across a restart of the Docker daemon (a private one: tests/private_docker.py):
the interrupted stage runs again once the daemon is back, or the evaluation ends as an
infrastructure error; a task is never failed for it."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import owned_containers, start_dgm, wait_for

EXAMPLES = Path(__file__).parents[2] / "evals" / "examples" / "exercises"
SLOW_LEAP = '''
import sys, time
time.sleep(8)
work = sys.argv[sys.argv.index("--workspace") + 1]
with open(work + "/leap.py", "w") as f:
    f.write("def is_leap(year):\\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\\n")
'''


def start_eval(tmp_path, private_docker, *extra):
    agent = tmp_path / "slow-leap"
    agent.mkdir()
    (agent / "agent.py").write_text(SLOW_LEAP)
    args = ["eval", str(agent), "--suite", f"custom:{EXAMPLES}", "--backend", "docker", "--workers", "2",
            "--task-timeout", "60", "--json", *extra]
    proc = start_dgm(args, env={"DOCKER_HOST": private_docker.host, "DGM_CACHE_DIR": str(tmp_path / "cache")})
    wait_for(lambda: len(owned_containers(proc.pid, private_docker.host)) >= 2, 120, "both agents running", proc)
    time.sleep(2)  # the agents are working
    return proc


@pytest.mark.docker
@pytest.mark.slow
def test_a_stage_cut_by_a_docker_restart_runs_again_and_scores_as_if_nothing_happened(tmp_path, private_docker):
    proc = start_eval(tmp_path, private_docker)
    private_docker.stop()
    time.sleep(3)
    private_docker.start()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    report = json.loads(out)
    reasons = {r["task_id"].rsplit("/", 1)[1]: r["exit_reason"] for r in report["results"]}
    assert reasons == {"leap": "ok", "word-count": "failed"}, (reasons, err)
    said = [line for line in err.splitlines() if line.startswith("dgm: the sandbox backend stopped answering")]
    assert len(said) == 1 and "answers again" in err, err
    assert "Traceback" not in err


@pytest.mark.docker
@pytest.mark.slow
def test_a_daemon_that_stays_away_is_an_infrastructure_error(tmp_path, private_docker):
    proc = start_eval(tmp_path, private_docker, "--backend-wait", "5")
    private_docker.stop()
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        private_docker.start()
    assert proc.returncode == 2, err
    assert err.strip().splitlines()[-1].startswith("dgm: error: the sandbox backend did not come back within 5s"), err
    assert "infrastructure error" in err and "Traceback" not in err
    assert owned_containers(proc.pid, private_docker.host) == []
