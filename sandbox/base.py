"""The sandbox contract: one interface that every isolation backend implements.

Agent code is hostile (see SECURITY.md). Nothing in this project runs agent code except
through a `Session` obtained from a `Backend`; there is no fallback to the host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Protocol, Sequence, runtime_checkable


class SandboxError(Exception):
    """Base of the expected sandbox failures."""


class NoBackendError(SandboxError):
    """No isolation backend works on this machine; the message says what to install."""


class SandboxStartError(SandboxError):
    """A backend is present but could not start a session (image missing, daemon gone...)."""


class TransferError(SandboxError):
    """A file transfer broke a rule: too big, too many files, unsafe path, link or device."""


class SessionClosedError(SandboxError):
    """The session was already closed (or its container vanished)."""


class MachineFault(SandboxError):
    """The machine, not the agent: the session was lost or could not start through no fault
    of the code inside it. Never recorded as the agent's failure (no verdict, no score); a
    caller that only needs to know whose fault it was catches this. The subclasses say what
    to do about it."""


class BackendUnavailable(MachineFault, SandboxStartError, SessionClosedError):
    """The backend itself stopped answering (the Docker daemon stopped or restarted). Callers
    wait for the backend (`sandbox.wait_for_backend`) and run the work again here, or report
    an infrastructure error."""


class SandboxLostError(MachineFault):
    """The machine that ran the session went away (a cluster node died or left): the work it
    was part of runs again elsewhere, at once."""


class BackendLost(MachineFault):
    """The backend is gone for good for this process (the Ray cluster itself was lost): no
    sandbox can run again here. The run stops with one line, leaving its interrupted work to
    resume on the next start."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one session. Defaults follow SECURITY.md."""

    wall_seconds: float = 600.0
    """Host-enforced lifetime of the whole session; the session is killed when it passes."""
    exec_timeout: float = 120.0
    """Default deadline of one `exec` when the call gives none."""
    memory_mb: int = 1024
    """Memory (and memory+swap) limit of the session."""
    pids: int = 256
    """Maximum number of processes/threads."""
    cpus: float = 1.0
    """CPU share, in cores."""
    output_bytes: int = 1_000_000
    """Cap on stdout and on stderr of each exec (each stream separately); the rest is dropped."""
    work_mb: int = 256
    """Size of the writable workspace (/work)."""
    tmp_mb: int = 128
    """Size of the writable /tmp."""
    nofile: int = 1024
    """Open-file descriptor limit."""
    fsize_mb: int = 128
    """Largest file a process may write."""
    image: str | None = None
    """Run this session in another image (e.g. a benchmark's per-instance environment) instead
    of the backend's own; the runner and a trusted Python are injected, the contract is the
    same. Only backends that run images (Docker) accept it."""
    workspace_source: str | None = None
    """With `image`: a directory of that image whose copy seeds /work; the image's path then
    leads to /work, so tools installed against it (editable installs) see the workspace. The
    pristine copy stays readable at WORKSPACE_SEED."""


@dataclass(frozen=True)
class Mount:
    """A host path made visible in the sandbox. Read-only unless said otherwise."""

    host_path: Path
    sandbox_path: str
    read_only: bool = True


@dataclass(frozen=True)
class ExecResult:
    """What one command did. `exit_code` is None when the process was killed before exiting.
    `session_lost`: the runner stopped answering mid-command (not for time or memory), so the
    session was killed and what the command did is unknown."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    oom_killed: bool = False
    duration: float = 0.0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    session_lost: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.oom_killed

    @property
    def exit_reason(self) -> str:
        """One word for reports: ok, exit, timeout, oom."""
        if self.timed_out:
            return "timeout"
        if self.oom_killed:
            return "oom"
        return "ok" if self.exit_code == 0 else "exit"


@dataclass(frozen=True)
class BatchItem:
    """One short command of a batch run inside one session, in its own process and directory."""

    argv: Sequence[str]
    stdin: bytes | None = None
    timeout: float = 10.0
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferCaps:
    """Caps on a transfer out of (or into) a sandbox."""

    max_bytes: int = 64 * 1024 * 1024
    max_files: int = 10_000
    max_file_bytes: int = 16 * 1024 * 1024


@runtime_checkable
class Session(Protocol):
    """A running sandbox. Always `close()` it (it is a context manager)."""

    id: str

    def exec(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecResult:
        """Run a command. The environment is exactly `env` (plus PATH/HOME/LANG defaults).

        Raises: SessionClosedError when the session is gone.
        """
        ...

    def run_batch(self, items: Sequence[BatchItem]) -> list[ExecResult]:
        """Run many short commands inside this one session, each with its own timeout,
        process and result, in order. One item's hang or crash never affects the others."""
        ...

    def put_files(self, dest: str, files: Mapping[str, bytes]) -> None:
        """Write files (relative path -> content) under the sandbox directory `dest`.

        Raises: TransferError on an unsafe path or when caps are exceeded.
        """
        ...

    def put_dir(self, src: Path, dest: str) -> None:
        """Copy a host directory's regular files under `dest` (links and devices rejected)."""
        ...

    def get_files(self, src: str, caps: TransferCaps | None = None) -> dict[str, bytes]:
        """Read the regular files under the sandbox directory `src` (relative path -> content).

        Raises: TransferError when the tree breaks a cap or holds absolute paths, `..`,
        links or devices.
        """
        ...

    def close(self) -> None:
        """Kill everything in the session and remove it. Idempotent; never raises."""
        ...

    def __enter__(self) -> "Session": ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """An isolation technology (Docker, bubblewrap)."""

    name: str

    def start(
        self,
        limits: Limits | None = None,
        mounts: Sequence[Mount] = (),
        labels: Mapping[str, str] | None = None,
    ) -> Session:
        """Start a session with an empty writable /work and /tmp (/work seeded from the image
        when `limits.workspace_source` is set; `limits.image` picks another image).

        Raises: SandboxStartError when it cannot start (an image it cannot run or pull, a
        workspace that does not fit).
        """
        ...

    def answers(self) -> bool:
        """Whether the backend can start sessions now (a daemon answers); never raises."""
        ...

    def sweep(self, run_id: str | None = None, include_own: bool = False) -> int:
        """Remove leftovers of crashed sessions (all of this project's, or one run's). Returns
        how many were removed. `include_own` also removes this process's live sessions: for a
        hard stop, when the threads that own them will never close them."""
        ...

    def close(self) -> None:
        """Release what the backend holds ahead of demand (warm sandboxes); sessions in use
        are untouched. Never raises."""
        ...
