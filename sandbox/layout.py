"""Fixed names shared by the image build and both backends."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Sequence

from dgm.sandbox.base import Mount, SandboxStartError

DEFAULT_IMAGE = "dgm-sandbox:latest"
SANDBOX_UID = 10001
"""The non-root user baked into the image (name `dgm`); every session runs as it."""
SANDBOX_USER = "dgm"
RUNNER_HOST = Path(__file__).parent / "image" / "runner.py"
RUNNER_PATH = "/opt/dgm/runner.py"
TRUSTED_PYTHON = "/opt/dgm/python-private"
"""An execute-only copy of the image's python3. The kernel marks a process exec'd from a binary
its user cannot read as non-dumpable from its first instruction, so code running as the same
user (agent code) can never open its /proc/<pid>/fd or memory: not even in the start-up window
before a prctl could run. Trusted in-sandbox processes (the runner, grading parents) use it."""
RUNNER_ARGV = [TRUSTED_PYTHON, "-I", "-S", RUNNER_PATH]
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


def check_mounts(mounts: Sequence[Mount]) -> None:
    """Every mount source exists and the sandbox user can use it (it is not root: a private
    0700 directory of the host stays closed to it), and every target is a clean absolute path.
    Both backends apply the same rule, so what works on one works on the other.

    Raises: SandboxStartError naming the mount and the fix.
    """
    for m in mounts:
        if not m.sandbox_path.startswith("/") or ".." in m.sandbox_path.split("/"):
            raise SandboxStartError(f"mount target {m.sandbox_path!r} must be absolute, without '..'")
        try:
            info = Path(m.host_path).stat()
        except OSError:
            raise SandboxStartError(f"mount source {m.host_path} does not exist") from None
        need = (stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(info.st_mode) else 0)) | (0 if m.read_only else stat.S_IWOTH)
        if info.st_uid != SANDBOX_UID and info.st_mode & need != need:
            fix = f"chmod o+rX{'' if m.read_only else 'w'} {m.host_path} (or chown {SANDBOX_UID})"
            raise SandboxStartError(f"mount source {m.host_path} is closed to the sandbox user {SANDBOX_UID}: {fix}")
