"""Run one agent on one instruction + workspace in a fresh sandbox (the agent contract v1).

The agent's code is mounted read-only at /agent, the instruction at /task/instruction.md
(read-only), the workspace is put into /work, and the agent runs as
`python3 /agent/agent.py --instruction /task/instruction.md --workspace /work`. Its whole
output is what it leaves in /work, collected with capped transfers. Whatever the agent
does (crash, hang, garbage, huge files, early exit) ends as a result, never an exception:
the caller grades what came out. The loop reuses this for self-modification.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

from dgm.evals.base import PATCH_FILE, TaskEnvironment
from dgm.sandbox import WORKSPACE_SEED, Backend, ExecResult, Limits, MachineFault, Mount, SandboxError, Session, TransferCaps, TransferError

AGENT_ARGV = ["python", "/agent/agent.py", "--instruction", "/task/instruction.md", "--workspace", "/work"]
OUTPUT_CAPS = TransferCaps(max_bytes=16 * 1024 * 1024, max_files=2_000, max_file_bytes=4 * 1024 * 1024)
"""What may come out of an agent's /work: a workspace, not a disk image."""
LOG_CHARS = 64_000
SETUP_SECONDS = 600
"""Session time beyond the agent's for a task with its own image (seeding /work, the diff)."""
GIT_SAFE = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}
"""/work is a tmpfs owned by root: without this, git refuses the sandbox user's repository."""
DIFF_SCRIPT = f"""set -e
d=$(mktemp -d /tmp/.dgm-diff.XXXXXX)
seed={WORKSPACE_SEED}
mkdir "$d/objects" "$d/out"
if [ -f "$seed/.git/index" ]; then cp "$seed/.git/index" "$d/index"; fi
export GIT_DIR="$seed/.git" GIT_INDEX_FILE="$d/index" GIT_OBJECT_DIRECTORY="$d/objects"
export GIT_ALTERNATE_OBJECT_DIRECTORIES="$seed/.git/objects" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$d"
g() {{ git -c 'safe.directory=*' -c core.fileMode=true -c core.quotePath=false "$@"; }}
g --work-tree="$seed" add -A
base=$(g write-tree)
g --work-tree=/work add -A
g diff --cached --binary --no-ext-diff --no-textconv --no-color --no-renames "$base" > "$d/out/{PATCH_FILE}"
echo "$d/out"
"""
"""The agent's diff against the image's pristine workspace, as it is on disk (files the image's
build left untracked are in both sides, so not in the diff). The agent's own /work/.git is
ignored: history it rewrote or deleted cannot hide or invent changes."""


@dataclass(frozen=True)
class AgentRun:
    result: ExecResult
    files: dict[str, bytes] = field(default_factory=dict)
    log: str = ""
    output_error: str = ""
    """Why /work could not be collected (too big, links...); empty when it was."""

    @property
    def exit_reason(self) -> str:
        if self.output_error:
            return "bad-output"
        return self.result.exit_reason


def _log(result: ExecResult, output_error: str) -> str:
    out = result.stdout.decode("utf-8", "replace")
    err = result.stderr.decode("utf-8", "replace")
    parts = [f"exit: {result.exit_reason} (code {result.exit_code}) after {result.duration:.1f}s"]
    if out:
        parts.append("--- stdout ---\n" + out[-LOG_CHARS:] + ("\n[truncated]" if result.stdout_truncated else ""))
    if err:
        parts.append("--- stderr ---\n" + err[-LOG_CHARS:] + ("\n[truncated]" if result.stderr_truncated else ""))
    if output_error:
        parts.append("--- output rejected ---\n" + output_error)
    return "\n".join(parts)


def run_agent(
    backend: Backend,
    agent_dir: Path,
    instruction: str,
    workspace: Mapping[str, bytes],
    *,
    limits: Limits | None = None,
    llm_mounts: Sequence[Mount] = (),
    env: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    caps: TransferCaps = OUTPUT_CAPS,
    environment: TaskEnvironment | None = None,
) -> AgentRun:
    """Run the agent once; the agent gets `limits.exec_timeout` seconds. With an
    `environment`, the session runs in its image with its repository as /work, and the
    output is the agent's diff ({PATCH_FILE: diff}).

    Raises: SandboxError only when no session can be started; MachineFault when the
    machine, not the agent, failed under the run (the backend went away, the node running it
    was lost); everything the agent does wrong ends in the returned AgentRun.
    """
    limits = limits or Limits()
    env = dict(env or {})
    if environment is not None:
        limits = environment_limits(limits, environment)
        env = {**GIT_SAFE, **environment.env, **env}
    agent_dir = Path(agent_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="dgm-task-") as task_dir:
        (Path(task_dir) / "instruction.md").write_text(instruction, encoding="utf-8")
        Path(task_dir).chmod(0o755)  # readable by the sandbox's non-root user, never writable
        (Path(task_dir) / "instruction.md").chmod(0o644)
        mounts = [Mount(agent_dir, "/agent"), Mount(Path(task_dir), "/task"), *llm_mounts]
        labels = {"purpose": "agent", **(labels or {})}
        with backend.start(limits, mounts, labels) as session:
            session.put_files("/work", dict(workspace))
            try:
                result = session.exec(AGENT_ARGV, timeout=limits.exec_timeout, env=dict(env or {}), cwd="/work")
            except MachineFault:
                raise  # not the agent's doing: the caller waits or runs the task again elsewhere
            except SandboxError as exc:  # the session died under the agent (e.g. killed at wall time)
                result = ExecResult(None, b"", str(exc).encode(), timed_out=True, duration=limits.exec_timeout)
            files, output_error = {}, ""
            try:
                files = session.get_files("/work", caps) if environment is None else agent_diff(session, caps)
            except TransferError as exc:
                output_error = str(exc)
            except MachineFault:
                raise
            except SandboxError as exc:
                output_error = f"workspace lost: {exc}"
    return AgentRun(result, files, _log(result, output_error), output_error)


def environment_limits(limits: Limits, environment: TaskEnvironment) -> Limits:
    """The session limits of a task with its own image: its image and workspace source, at
    least its memory and workspace room, and time beyond the agent's for copying the
    repository in and taking the diff out (a large repository takes a while)."""
    return replace(
        limits, image=environment.image, workspace_source=environment.workspace_source,
        memory_mb=max(limits.memory_mb, environment.memory_mb), work_mb=max(limits.work_mb, environment.work_mb),
        wall_seconds=max(limits.wall_seconds, limits.exec_timeout + SETUP_SECONDS),
    )  # fmt: skip


def agent_diff(session: Session, caps: TransferCaps) -> dict[str, bytes]:
    """{PATCH_FILE: the agent's diff}, computed in the agent's (finished) session.

    Raises: TransferError when the diff cannot be made or breaks the caps.
    """
    result = session.exec(["sh", "-c", DIFF_SCRIPT], timeout=300)
    if not result.ok:
        tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [result.exit_reason]
        raise TransferError(f"cannot compute the workspace's diff: {tail[0][:200]}")
    out = result.stdout.decode("utf-8", "replace").strip().splitlines()[-1]
    files = session.get_files(out, caps)
    return {PATCH_FILE: files.get(PATCH_FILE, b"")}
