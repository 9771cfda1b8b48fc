"""Why each task failed, in the table and in --json, with the path of its log; and a model
that cannot work is refused before any task starts."""

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dgm.evals.agent_run import AgentRun
from dgm.evals.base import Verdict
from dgm.evals.evaluate import failure_reason
from dgm.sandbox import ExecResult

SEED = Path(__file__).parents[2] / "archive" / "seeds" / "coder"


def dgm_eval(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "dgm.cli", "eval", *args], capture_output=True, text=True,
                          timeout=timeout, env={"PATH": "/usr/bin:/bin", **(env or {})})


def run_of(exit_code, timed_out=False):
    return AgentRun(ExecResult(exit_code, b"", b"", timed_out=timed_out))


def test_failure_reason_names_the_part_that_failed():
    failed, passed = Verdict("t", False, "failed"), Verdict("t", True, "ok")
    assert failure_reason(run_of(0), passed, model_failed=False) == "ok"
    assert failure_reason(run_of(None, timed_out=True), failed, model_failed=True) == "model-error"
    assert failure_reason(run_of(None, timed_out=True), failed, model_failed=False) == "timeout"
    assert failure_reason(run_of(1), failed, model_failed=False) == "agent-crash"
    assert failure_reason(run_of(0), Verdict("t", False, "no-output"), model_failed=False) == "no-output"


@pytest.mark.parametrize("model, says", [("nosuchprovider/xyz", "no provider"), ("openai/x --api-base http://127.0.0.1:9/v1", "no model server answers")])
def test_a_model_that_cannot_work_is_refused_before_any_task(tmp_path, model, says):
    (tmp_path / "agent.py").write_text("")
    name, *rest = model.split()
    start = time.monotonic()
    done = dgm_eval(str(tmp_path), "--model", name, *rest, "--backend", "docker", env={"DGM_CACHE_DIR": str(tmp_path / "c")})
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert not (tmp_path / "c" / "evals" / "logs").exists(), "no task started"
    assert time.monotonic() - start < 60


class FailingModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose every answer is a 500."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"error": {"message": "the model is down", "type": "server_error"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.docker
def test_a_model_that_fails_every_call_is_a_model_error_with_its_log(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FailingModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api_base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        done = dgm_eval(str(SEED), "--suite", "humaneval", "--limit", "1", "--task-timeout", "30", "--model", "openai/down",
                        "--api-base", api_base, "--json", env={"DGM_CACHE_DIR": str(tmp_path / "c")})
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["exit_reason"] == "model-error"
    log = Path(result["log_path"])
    assert log.is_file() and log.is_relative_to(tmp_path / "c") and "exit:" in log.read_text()
