"""A Docker daemon of the tests' own, to stop and restart under a running dgm command.

The engine the rest of the suite uses is shared (other runs, other people): stopping it
would break them. This one listens on its own socket with its own data and exec roots, no
bridge and no iptables (sandboxes have no network anyway), and gets the sandbox image from
the shared engine (`docker save | docker load`, only when its copy differs). Point a dgm
process at it with DOCKER_HOST=`host`. The `private_docker` fixture (tests/conftest.py)
gives one per test session; `stop()` and `start()` restart it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

SOCKET = "/tmp/dgm-test-docker.sock"
DATA_ROOT = Path("/tmp/dgm-docker-2")
EXEC_ROOT = Path("/tmp/dgm-docker-2-exec")
PIDFILE = Path("/tmp/dgm-docker-2.pid")
LOG = Path("/tmp/dgm-docker-2.log")


class PrivateDocker:
    host = f"unix://{SOCKET}"

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> None:
        """Start the daemon and wait until it answers.

        Raises: RuntimeError (with the end of its log) when it does not come up."""
        self._kill_stale()
        argv = [
            "dockerd", "-H", self.host, "--data-root", str(DATA_ROOT), "--exec-root", str(EXEC_ROOT),
            "--pidfile", str(PIDFILE), "--bridge", "none", "--iptables=false", "--ip6tables=false",
        ]  # fmt: skip
        with open(LOG, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.answers():
                return
            time.sleep(0.3)
        tail = LOG.read_text(errors="replace")[-2000:] if LOG.exists() else ""
        raise RuntimeError(f"the private dockerd did not come up:\n{tail}")

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the daemon as an administrator would (SIGTERM; SIGKILL if it hangs)."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def answers(self) -> bool:
        return self.docker("info", "--format", "{{.ID}}").returncode == 0

    def docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True)

    def load_image(self, image: str) -> None:
        """Copy `image` from the shared engine when this daemon lacks it or has another build."""
        shared = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", image], capture_output=True, text=True)
        mine = self.docker("image", "inspect", "-f", "{{.Id}}", image)
        if shared.returncode != 0:
            raise RuntimeError(f"the shared engine has no {image}: dgm sandbox build")
        if mine.returncode == 0 and mine.stdout == shared.stdout:
            return
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        load = subprocess.run(["docker", "-H", self.host, "load"], stdin=save.stdout, capture_output=True, text=True)
        save.wait()
        if load.returncode != 0 or save.returncode != 0:
            raise RuntimeError(f"cannot load {image} into the private dockerd: {load.stderr.strip()}")

    def _kill_stale(self) -> None:
        """A daemon left by a crashed test session holds the pidfile: end it."""
        try:
            pid = int(PIDFILE.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if b"dockerd" in cmdline and SOCKET.encode() in cmdline:
            os.kill(pid, signal.SIGTERM)
            for _ in range(200):
                if not Path(f"/proc/{pid}").exists():
                    return
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
