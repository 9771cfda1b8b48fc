"""Real dgm processes for the interruption tests: started as a terminal would start them
(default signal handlers, even when pytest runs from a background shell that ignores
SIGINT), with their sandboxes found on the Docker engine by their owner label."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).parents[1]


def _default_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def start_dgm(args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """`python -m dgm.cli ARGS` in its own session, signals at their defaults."""
    full_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "PYTHONPATH": str(ROOT)}
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "dgm.cli", *args], env=full_env, cwd=cwd or ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_signals, start_new_session=True,
    )  # fmt: skip


def owned_containers(pid: int, docker_host: str | None = None, running: bool = False) -> list[str]:
    """Ids of the dgm containers (running or not; with `running`, only running ones) whose owner
    is process `pid` of this host."""
    from dgm.sandbox.docker_backend import LABEL
    from dgm.sandbox.layout import host_identity

    import docker

    client = docker.DockerClient(base_url=docker_host) if docker_host else docker.from_env()
    try:
        filters: dict[str, object] = {"label": [f"{LABEL}=1"]}
        if running:
            filters["status"] = "running"
        rows = client.api.containers(all=not running, filters=filters)
    finally:
        client.close()
    prefix = f"{host_identity()}:{pid}:"
    return [row["Id"] for row in rows if (row.get("Labels") or {}).get("dgm.owner", "").startswith(prefix)]


def wait_for(condition: Callable[[], object], seconds: float, what: str, proc: subprocess.Popen | None = None) -> object:
    """Poll until `condition()` is truthy; fail naming `what` (with the process's stderr)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended before {what}: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop_and_time(proc: subprocess.Popen, signum: int, bound: float = 15.0) -> tuple[float, str, str]:
    """Send `signum`, wait for the exit; (seconds it took, stdout, stderr)."""
    start = time.monotonic()
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=bound)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"not stopped {bound}s after {signal.Signals(signum).name}:\n{err}") from None
    return time.monotonic() - start, out, err
