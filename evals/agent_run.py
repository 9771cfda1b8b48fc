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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from dgm.sandbox import ExecResult, Limits, Mount, SandboxError, SandboxLostError, TransferCaps, TransferError

AGENT_ARGV = ["python", "/agent/agent.py", "--instruction", "/task/instruction.md", "--workspace", "/work"]
OUTPUT_CAPS = TransferCaps(max_bytes=16 * 1024 * 1024, max_files=2_000, max_file_bytes=4 * 1024 * 1024)
"""What may come out of an agent's /work: a workspace, not a disk image."""
LOG_CHARS = 64_000


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
    backend,
    agent_dir: Path,
    instruction: str,
    workspace: Mapping[str, bytes],
    *,
    limits: Limits | None = None,
    llm_mounts: Sequence[Mount] = (),
    env: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    caps: TransferCaps = OUTPUT_CAPS,
) -> AgentRun:
    """Run the agent once; the agent gets `limits.exec_timeout` seconds.

    Raises: SandboxError only when no session can be started or the machine running it was
    lost (SandboxLostError: the machine, not the agent, is at fault); everything the agent does wrong ends in the returned AgentRun.
    """
    limits = limits or Limits()
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
            except SandboxLostError:
                raise  # the machine went away, not the agent: the caller runs the task again elsewhere
            except SandboxError as exc:  # the session died under the agent (e.g. killed at wall time)
                result = ExecResult(None, b"", str(exc).encode(), timed_out=True, duration=limits.exec_timeout)
            files, output_error = {}, ""
            try:
                files = session.get_files("/work", caps)
            except TransferError as exc:
                output_error = str(exc)
            except SandboxLostError:
                raise
            except SandboxError as exc:
                output_error = f"workspace lost: {exc}"
    return AgentRun(result, files, _log(result, output_error), output_error)
