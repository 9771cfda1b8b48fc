"""Running the seed agent: as a host subprocess against the real gateway (pure pieces and
quick end-to-end runs), or inside a real sandbox through evals.run_agent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dgm.llm import Gateway
from tests.llm.conftest import SEED_DIR, archive, make_config  # noqa: F401  (archive: a fixture)


@dataclass
class HostRun:
    returncode: int
    stdout: str
    stderr: str
    workspace: Path


def run_on_host(gateway: Gateway, agent_dir: Path, instruction: str, workspace: Path, *, agent_id: str = "a1",
                task_id: str = "t1", purpose: str = "solve", extra_env: dict | None = None) -> HostRun:
    """The agent as a subprocess of the test, pointed at a grant through the env overrides."""
    (workspace.parent / "instruction.md").write_text(instruction, encoding="utf-8")
    with gateway.grant(agent_id=agent_id, task_id=task_id, purpose=purpose) as mounts:
        grant = Path(mounts[0].host_path)
        env = {"PATH": os.environ["PATH"], "DGM_LLM_SOCKET": str(grant / "llm.sock"),
               "DGM_LLM_TOKEN_FILE": str(grant / "token"),
               "DGM_AGENT_TRANSCRIPT": str(workspace.parent / "transcript.jsonl"), **(extra_env or {})}
        proc = subprocess.run([sys.executable, str(agent_dir / "agent.py"), "--instruction",
                               str(workspace.parent / "instruction.md"), "--workspace", str(workspace)],
                              capture_output=True, text=True, timeout=120, env=env, cwd=workspace)
    return HostRun(proc.returncode, proc.stdout, proc.stderr, workspace)


def copy_seed(dest: Path) -> Path:
    shutil.copytree(SEED_DIR, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


__all__ = ["HostRun", "archive", "copy_seed", "make_config", "run_on_host"]
