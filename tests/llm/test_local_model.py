"""`local`, a real tiny model (SmolLM2-135M on llama.cpp from dgm[local]), against its real
server: no fake anywhere. One server is shared by the module's tests (it loads in ~2 s, but
each answer takes seconds on one thread); the kill test starts its own."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from dgm.config import dump_config
from dgm.llm import Gateway, ModelError
from dgm.llm.local import LocalModel, LocalServer, find_weights, local_server, start_server
from tests.llm.conftest import SEED_DIR, ledger_rows, make_config

pytestmark = pytest.mark.slow

HUMANEVAL_LIKE = 'def add(a, b):\n    """Return the sum of a and b.\n    >>> add(2, 3)\n    5\n    """\n'


@pytest.fixture(scope="session")
def shared_server() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


def local_config(**budget):
    return make_config("local", max_tokens=4096, **budget)


def raw_chat(server: LocalServer, messages: list[dict], max_tokens: int) -> dict:
    body = json.dumps({"messages": messages, "max_tokens": max_tokens, "temperature": 0}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.key}"}
    request = urllib.request.Request(server.url + "/chat/completions", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def test_the_server_wants_its_key(shared_server):
    import urllib.error

    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}).encode()
    request = urllib.request.Request(shared_server.url + "/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 401


def test_weights_are_found_in_the_installed_distribution():
    path = find_weights()
    assert path.suffix == ".gguf" and path.stat().st_size > 50 * 1024 * 1024
    assert "site-packages" in str(path) or "dist-packages" in str(path)


def test_a_gateway_call_through_litellm_records_the_servers_own_token_counts(shared_server, archive):
    messages = [{"role": "user", "content": "Write a Python function that returns the square of x."}]
    with Gateway(LocalModel(server=shared_server), local_config(), archive) as gateway:
        completion = gateway.complete_for_host(messages, agent_id="a1", max_tokens=24, temperature=0)
    direct = raw_chat(shared_server, messages, 24)["usage"]
    assert completion.content and completion.model == "local"
    [row] = ledger_rows(archive)
    assert row["outcome"] == "ok" and row["model"] == "local" and row["cost_usd"] == 0.0
    assert (row["prompt_tokens"], row["completion_tokens"]) == (direct["prompt_tokens"], direct["completion_tokens"])
    assert row["prompt_tokens"] > 10 and 0 < row["completion_tokens"] <= 24
    assert shared_server.alive(), "a model handed a running server leaves it running"


def test_the_seed_agent_runs_on_the_real_model_in_text_mode(shared_server, archive, tmp_path):
    from tests.seeds.conftest import run_on_host

    work = tmp_path / "w" / "work"
    work.mkdir(parents=True)
    (work / "solution.py").write_text(HUMANEVAL_LIKE)
    with Gateway(LocalModel(server=shared_server, max_tokens=96), local_config(), archive) as gateway:
        run = run_on_host(gateway, SEED_DIR, "Complete the function add in solution.py.", work,
                          extra_env={"DGM_AGENT_MAX_STEPS": "2"})
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["steps"] >= 1 and summary["tokens"] > 0
    assert "=== step 1: assistant ===" in run.stderr
    rows = ledger_rows(archive)
    assert rows and {r["outcome"] for r in rows} == {"ok"} and all(r["completion_tokens"] > 0 for r in rows)
    assert sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows) == summary["tokens"]


@pytest.mark.docker
def test_two_humaneval_tasks_end_to_end_on_the_real_model(shared_server, archive, tmp_path):
    """The machinery, not a score: two tasks run in sandboxes, every call is on the ledger,
    each task has its transcript and a grader's verdict."""
    from dgm import sandbox
    from dgm.evals import Stage, StagePlan, evaluate

    backend = sandbox.open_backend("docker")
    limits = sandbox.Limits(wall_seconds=90, exec_timeout=45)
    with Gateway(LocalModel(server=shared_server, max_tokens=64), local_config(), archive) as gateway:
        report = evaluate(SEED_DIR, ["humaneval"], StagePlan((Stage(2),), 0), backend, llm=gateway,
                          limits=limits, progress=False, limit=2, workers=2, cache=_no_cache(tmp_path))
    assert len(report.results) == 2
    for result in report.results:
        assert "=== task ===" in result.log and "=== step 1" in result.log, result.log[-2000:]
        assert "--- grade ---" in result.log, "graded in a fresh sandbox"
        assert result.exit_reason, "each task has a verdict or a failure reason"
    rows = ledger_rows(archive)
    assert {r["task_id"] for r in rows} == {r.task_id for r in report.results}
    assert all(r["outcome"] == "ok" and r["prompt_tokens"] > 0 and r["purpose"] == "solve" for r in rows)


def test_a_killed_server_gives_retries_then_a_recorded_failure(archive):
    server = start_server()
    try:
        model = LocalModel(server=server, max_retries=2)
        with Gateway(model, local_config(), archive) as gateway:
            ok = gateway.complete_for_host([{"role": "user", "content": "Say hi."}], agent_id="a1", max_tokens=8)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            with pytest.raises(ModelError, match="gave up after 3 attempts"):
                gateway.complete_for_host([{"role": "user", "content": "Say hi again."}], agent_id="a1", max_tokens=8)
    finally:
        server.stop()
    assert ok.completion_tokens > 0
    assert [r["outcome"] for r in ledger_rows(archive)] == ["ok", "error", "error", "error"], "each attempt is a row"


def test_an_unparseable_diagnosis_is_a_recorded_no_child(shared_server, tmp_path):
    """The tiny model cannot write the diagnosis JSON: the iteration ends as 'no child' with
    the reason, recorded as an event; nothing crashes and nothing is committed."""
    from dgm.archive import Archive

    from dgm.loop.iteration import LoopContext, make_child

    agent = tmp_path / "tiny-agent"
    agent.mkdir()
    (agent / "agent.py").write_text("print('a tiny agent')\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = local_config()
    (run_dir / "run.toml").write_text(dump_config(config), encoding="utf-8")
    with Archive.create(run_dir) as store:
        seed = store.add_seed(agent, meta={})
        with Gateway(LocalModel(server=shared_server, max_tokens=48), config, store) as gateway:
            ctx = LoopContext(run_dir, config, store, None, gateway, None)  # type: ignore[arg-type]  # no sandbox: the diagnosis fails first
            outcome = make_child(ctx, 1, seed.id)
        events = [e for e in store.events(limit=20) if e.kind == "diagnosis-failed"]
        assert len(store.agents()) == 1, "no child committed"
    assert outcome.status == "no-child" and "problem_statement" in outcome.reason
    assert len(events) == 1 and "problem_statement" in events[0].message
    [row] = ledger_rows(store)
    assert row["purpose"] == "diagnose" and row["outcome"] == "ok" and row["completion_tokens"] > 0


def test_the_seed_agent_s_diagnosis_fits_the_local_model_s_window(shared_server, tmp_path):
    """The seed agent's code and five failure logs are longer than the 8k-token window: the
    diagnosis prompt is clipped to fit, so the server answers it (before, a local run's
    diagnosis of a failing agent overflowed the window and never made a child)."""
    from dgm.archive import Archive
    from dgm.loop.diagnose import FailedTask, diagnosis_messages

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = local_config()
    (run_dir / "run.toml").write_text(dump_config(config), encoding="utf-8")
    failures = [FailedTask(f"humaneval/HumanEval-{i}", ("$ python agent.py\nTraceback: AssertionError\n" * 100)[:4000]) for i in range(5)]
    with Archive.create(run_dir) as store:
        seed = store.add_seed(SEED_DIR, meta={})
        files = store.read_tree(seed.id)
        with Gateway(LocalModel(server=shared_server, max_tokens=48), config, store) as gateway:
            assert sum(len(m["content"]) for m in diagnosis_messages(files, failures)) > 8192 * 3, "unclipped, it overflows"
            messages = diagnosis_messages(files, failures, gateway.host_prompt_chars())
            gateway.complete_for_host(messages, agent_id=seed.id, purpose="diagnose", max_tokens=48)
        [row] = ledger_rows(store)
    assert row["purpose"] == "diagnose" and row["outcome"] == "ok", row
    assert 1000 < row["prompt_tokens"] <= 8192 - 1024


def gone(pid: int, seconds: float = 15.0) -> bool:
    """The process ended (a zombie awaiting its reaper counts as ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def test_the_gateway_starts_the_server_for_the_run_and_stops_it(archive):
    model = LocalModel()
    with Gateway(model, local_config(), archive):
        server = model.server
        assert server is not None and server.alive() and server.url.startswith("http://127.0.0.1:")
    assert model.server is None and gone(server.pid)


def test_the_server_dies_with_dgm_even_on_kill_9():
    owner = subprocess.Popen([sys.executable, "-c", (
        "import time\nfrom dgm.llm.local import start_server\n"
        "s = start_server()\nprint(s.pid, flush=True)\ntime.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(owner.stdout.readline())
        assert not gone(pid, 0.5)
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        assert gone(pid), "the server outlived the process that started it"
    finally:
        owner.kill()
        owner.wait()


def _no_cache(tmp_path: Path):
    from dgm.evals.reuse import DiskCache

    return DiskCache(tmp_path / "cache")


@pytest.mark.docker
def test_dgm_eval_on_local_says_what_the_model_is_and_grades_both_tasks(tmp_path):
    """The CLI path a user takes: dgm starts and stops the server itself (about 3 minutes)."""
    from tests.loop.conftest import dgm

    result = dgm("eval", str(SEED_DIR), "--suite", "humaneval", "--model", "local", "--limit", "2", "--seed", "5", "--backend", "docker",
                 timeout=900, env={"DGM_CACHE_DIR": str(tmp_path / "cache")})  # no reuse of earlier results
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert " ".join(output.split()).count("real but tiny model") == 2, "the banner opens and closes the evaluation"
    assert output.count("humaneval/HumanEval-") == 2 and "score:" in output and "(reused)" not in output


@pytest.mark.docker
def test_a_run_survives_its_local_server_being_killed(tmp_path):
    """dgm run on local; the llama.cpp server is killed once the first call is on the ledger:
    calls are retried, then recorded as errors; the run ends its iteration and exits 0."""
    import sqlite3

    from tests.loop.conftest import CANARY

    config = tmp_path / "killed.toml"
    config.write_text("""name = "killed"
[model]
name = "local"
max_retries = 2
timeout = 60.0
[loop]
children_in_flight = 1
max_iterations = 1
self_modify_timeout = 30.0
[eval]
suites = ["humaneval"]
stages = [{ tasks = 1 }]
workers = 1
task_timeout = 30.0
""", encoding="utf-8")
    run_dir = tmp_path / "killed"
    env = {**os.environ, "OPENAI_API_KEY": CANARY}
    subprocess.run([sys.executable, "-m", "dgm.cli", "init", str(run_dir), "--config", str(config)], check=True, env=env,
                   capture_output=True)
    daemon = subprocess.Popen([sys.executable, "-m", "dgm.cli", "run", "--run", str(run_dir)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        server_pid = None
        while time.monotonic() < deadline and server_pid is None:
            time.sleep(0.5)
            with contextlib.suppress(sqlite3.Error):
                with sqlite3.connect(run_dir / "archive.db") as db:
                    if db.execute("SELECT COUNT(*) FROM llm_calls WHERE outcome = 'ok'").fetchone()[0]:
                        server_pid = _child_server(daemon.pid)
        assert server_pid, "the run never made a call on its local server"
        os.kill(server_pid, signal.SIGKILL)
        output, _ = daemon.communicate(timeout=400)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, output
    assert "Traceback" not in output, output
    with sqlite3.connect(run_dir / "archive.db") as db:
        outcomes = [row[0] for row in db.execute("SELECT outcome FROM llm_calls ORDER BY id")]
        events = [row[0] for row in db.execute("SELECT kind FROM events")]
    assert outcomes[0] == "ok" and outcomes[-1] == "error", outcomes
    assert "diagnosis-failed" in events, events


def _child_server(pid: int) -> int | None:
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            if fields.get("PPid", "").strip() == str(pid):
                cmdline = (status.parent / "cmdline").read_bytes()
                if b"dgm.llm.local_server" in cmdline:
                    return int(status.parent.name)
    return None
