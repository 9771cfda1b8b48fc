"""Fixed names shared by the image build and both backends."""

from __future__ import annotations

import os
import socket
from pathlib import Path

DEFAULT_IMAGE = "dgm-sandbox:latest"
SANDBOX_UID = 10001
"""The non-root user baked into the image (name `dgm`); every session runs as it."""
SANDBOX_USER = "dgm"
RUNNER_HOST = Path(__file__).parent / "image" / "runner.py"
RUNNER_PATH = "/opt/dgm/runner.py"
RUNNER_ARGV = ["python3", "-I", "-S", RUNNER_PATH]
MOUNT_POINTS = ("/work", "/task", "/agent", "/run/llm", "/opt/dgm")
"""Directories every image has, so that read-only roots can take mounts there."""
LABEL = "dgm.sandbox"
"""Every container of this project carries LABEL=1, plus dgm.session, dgm.run, dgm.owner."""


def cache_dir() -> Path:
    """Where the offline-built root filesystem lives (DGM_CACHE_DIR overrides)."""
    base = os.environ.get("DGM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dgm"
    )
    return Path(base)


def rootfs_dir() -> Path:
    return cache_dir() / "rootfs"


def owner_tag() -> str:
    """host:pid:start-time of this process: lets a sweep tell a crashed owner from a live one."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(tag: str) -> bool:
    """Whether the process that `owner_tag()` named still runs (on another host: assume so)."""
    try:
        host, pid, start = tag.rsplit(":", 2)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    return _start_time(int(pid)) == start if pid.isdigit() else False


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "gone"
