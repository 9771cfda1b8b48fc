"""`dgm eval` on agents that hang: the first SIGINT, SIGTERM or SIGHUP stops it within 5 s,
removes every sandbox it started, says in one line what finished and what was abandoned,
and exits with 128 + the signal; a second signal stops at once; kill -9 leaves containers
that end by themselves at their deadline."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import owned_containers, start_dgm, stop_and_time, wait_for

EXAMPLES = Path(__file__).parents[2] / "evals" / "examples" / "exercises"


def start_hanging_eval(make_agent, tmp_path, *extra):
    agent = make_agent("hang", "hostile.py", {"mode.txt": "hang"})
    args = ["eval", str(agent), "--suite", f"custom:{EXAMPLES}", "--backend", "docker", "--workers", "2", "--task-timeout", "60", *extra]
    proc = start_dgm(args, env={"DGM_CACHE_DIR": str(tmp_path / "cache")})
    wait_for(lambda: len(owned_containers(proc.pid)) >= 2, 60, "both agents running", proc)
    time.sleep(1.0)  # the agents are inside their sandboxes, hanging
    return proc


@pytest.mark.docker
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_first_signal_stops_within_5_seconds_and_leaves_nothing(make_agent, tmp_path, signum):
    proc = start_hanging_eval(make_agent, tmp_path)
    took, out, err = stop_and_time(proc, signum)
    print(f"dgm eval stopped {took:.2f}s after {signal.Signals(signum).name}")
    assert proc.returncode == 128 + signum, err
    assert took < 5.0, f"took {took:.1f}s"
    assert owned_containers(proc.pid) == [], "a sandbox outlived the command"
    lines = [line for line in err.splitlines() if line.startswith("dgm: stopped")]
    assert len(lines) == 1 and signal.Signals(signum).name in lines[0], err
    assert "0 task(s) finished" in lines[0] and "2 abandoned" in lines[0]
    assert "Traceback" not in err


@pytest.mark.docker
def test_json_gives_the_partial_report(make_agent, tmp_path):
    proc = start_hanging_eval(make_agent, tmp_path, "--json")
    took, out, err = stop_and_time(proc, signal.SIGTERM)
    assert proc.returncode == 143 and took < 5.0
    report = json.loads(out)
    assert report["stopped_by"] == "SIGTERM" and report["results"] == [] and len(report["abandoned"]) == 2


@pytest.mark.docker
def test_second_signal_stops_at_once_and_still_removes_the_sandboxes(make_agent, tmp_path):
    proc = start_hanging_eval(make_agent, tmp_path)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert time.monotonic() - start < 5.0
    assert proc.returncode == 130, err
    assert owned_containers(proc.pid) == []
    assert "Traceback" not in err


@pytest.mark.docker
@pytest.mark.slow
def test_kill_9_leaves_containers_that_end_by_themselves(make_agent, tmp_path):
    """--task-timeout 5 gives sessions a wall time of 25 s; the containers' own deadline is
    15 s later: nobody removes them, yet they are gone by then. The kill lands while the one
    agent (one worker) runs in a started container: one killed between Docker's create and
    start would never run its deadline, and is the next dgm command's sweep to remove."""
    agent = make_agent("hang", "hostile.py", {"mode.txt": "hang"})
    args = ["eval", str(agent), "--suite", f"custom:{EXAMPLES}", "--backend", "docker", "--task-timeout", "5", "--workers", "1"]
    proc = start_dgm(args, env={"DGM_CACHE_DIR": str(tmp_path / "cache")})
    wait_for(lambda: owned_containers(proc.pid, running=True), 60, "an agent running", proc)
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert owned_containers(proc.pid), "the container is there right after the kill"
    wait_for(lambda: not owned_containers(proc.pid), 25 + 15 + 15, "the orphaned containers to end")
    print(f"orphaned containers gone {time.monotonic() - killed_at:.1f}s after kill -9 (wall 25 s + margin 15 s)")


def test_task_timeout_is_checked(tmp_path):
    (tmp_path / "agent.py").write_text("")
    done = subprocess.run([sys.executable, "-m", "dgm.cli", "eval", str(tmp_path), "--task-timeout", "0"], capture_output=True, text=True)
    assert done.returncode == 2 and "--task-timeout" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.docker
def test_eval_beside_a_starting_run_loses_nothing_to_its_sweeps(make_agent, tmp_path):
    """A `dgm run` starting (and sweeping) while a `dgm eval` starts and removes containers
    every few seconds: neither ends the other's sandboxes, and the run does not die of a
    container vanishing under its sweep."""
    from tests.loop.conftest import new_run

    agent = make_agent("hang", "hostile.py", {"mode.txt": "hang"})
    args = ["eval", str(agent), "--suite", "humaneval", "--limit", "6", "--backend", "docker", "--workers", "2",
            "--task-timeout", "2", "--json"]
    evaluation = start_dgm(args, env={"DGM_CACHE_DIR": str(tmp_path / "cache")})
    wait_for(lambda: owned_containers(evaluation.pid), 60, "the evaluation's first sandbox", evaluation)
    run_dir = new_run(tmp_path, iterations=1)
    daemon = start_dgm(["run", "--run", str(run_dir)], env={"DGM_CACHE_DIR": str(tmp_path / "cache")})
    try:
        out, err = evaluation.communicate(timeout=300)
        assert evaluation.returncode == 0, err
        reasons = [r["exit_reason"] for r in json.loads(out)["results"]]
        assert reasons == ["timeout"] * 6, reasons
    finally:
        daemon.send_signal(signal.SIGINT)
        time.sleep(0.5)
        daemon.send_signal(signal.SIGINT)
        run_out, run_err = daemon.communicate(timeout=60)
    assert "sweeping" not in run_err and "Traceback" not in run_err, run_err
    assert "sandbox backend docker" in run_out, run_out + run_err
    assert owned_containers(daemon.pid) == [] and owned_containers(evaluation.pid) == []
