"""Helpers for driving real runs: the real CLI in subprocesses, real Docker, git and SQLite;
only the model is scripted (chosen by scenario name in run.toml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "sk-canary-DO-NOT-LEAK-4242"


def write_config(path: Path, *, scenario: str = "dry-run", iterations: int = 3, in_flight: int = 1,
                 extra: str = "", suites: str = '["humaneval"]', stages: str = "[{ tasks = 2 }]") -> Path:
    path.write_text(
        f"""name = "{path.stem}"
seed = 7

[model]
name = "scripted:{scenario}"

[loop]
children_in_flight = {in_flight}
max_iterations = {iterations}
self_modify_timeout = 120.0

[eval]
suites = {suites}
stages = {stages}
workers = 2
task_timeout = 60.0
{extra}
""",
        encoding="utf-8",
    )
    return path


def dgm(*args: str, cwd: Path | None = None, timeout: float = 600, check: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "OPENAI_API_KEY": CANARY, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "dgm.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=full_env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"dgm {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def new_run(tmp_path: Path, name: str = "r", **config) -> Path:
    config_file = write_config(tmp_path / f"{name}.toml", **config)
    run_dir = tmp_path / name
    dgm("init", str(run_dir), "--config", str(config_file), check=True)
    return run_dir


@pytest.fixture
def make_run(tmp_path):
    return lambda name="r", **config: new_run(tmp_path, name, **config)
