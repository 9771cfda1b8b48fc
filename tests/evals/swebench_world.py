"""The synthetic SWE-bench world of the tests and the benchmark: a small Python repository
with two bugs, two instances in the dataset's format (JSON lines), their gold and test patches,
and their environment images built locally FROM the sandbox image (no registry needed)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BASE_FILES = {
    "calc/__init__.py": "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n",
    "tests/__init__.py": "",
    "tests/test_calc.py": "from calc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n",
}
TEST_CMD = "python3 -m pytest -rA -p no:cacheprovider tests"
TEMPLATE = "dgm-swebench-test:{id}"


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z", "HOME": str(repo)}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def write_files(root: Path, files: dict[str, str | None]) -> None:
    """Write each path's text under `root`; None deletes the path."""
    for path, text in files.items():
        if text is None:
            (root / path).unlink()
            continue
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def diff_of(repo: Path, changes: dict[str, str | None]) -> str:
    """The git diff that `changes` (path -> text, None deletes) make to the base commit."""
    write_files(repo, changes)
    git(repo, "add", "-A")
    diff = git(repo, "diff", "--cached", "HEAD")
    git(repo, "reset", "-q", "--hard", "HEAD")
    return diff


def fixed(**subs: str) -> str:
    text = BASE_FILES["calc/__init__.py"]
    for name, body in subs.items():
        old = {"add": "a - b", "mul": "a + b", "sub": "a - b"}[name]
        text = text.replace(f"def {name}(a, b):\n    return {old}", f"def {name}(a, b):\n    return {body}")
    return text


TEST_ADD = BASE_FILES["tests/test_calc.py"].replace("import sub", "import add, sub") + "\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@dataclass(frozen=True)
class World:
    repo: Path
    """A clone of the base commit, for making more diffs (diff_of)."""
    data: Path
    """The instances file."""
    patches: dict[str, str]
    known: Path
    """One instance under a repository key the swebench package knows (pytest-dev/pytest 5.4)."""


def build_world(root: Path) -> World:
    """Write the repository and instances under `root` and build the images (cached by tag)."""
    import docker
    import pytest as pytest_module

    repo = root / "context" / "testbed"
    repo.mkdir(parents=True)
    write_files(repo, dict(BASE_FILES))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    patches = {
        "gold1": diff_of(repo, {"calc/__init__.py": fixed(add="a + b")}),
        "gold2": diff_of(repo, {"calc/__init__.py": fixed(mul="a * b")}),
        "test1": diff_of(repo, {"tests/test_calc.py": TEST_ADD}),
        "test2": diff_of(repo, {"tests/test_mul.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"}),
    }
    instances = [
        {"instance_id": "dgm__calc-1", "repo": "dgm/calc", "base_commit": base, "version": "0.1",
         "problem_statement": "add(2, 3) returns -1; it should return the sum.", "patch": patches["gold1"],
         "test_patch": patches["test1"], "FAIL_TO_PASS": json.dumps(["tests/test_calc.py::test_add"]),
         "PASS_TO_PASS": json.dumps(["tests/test_calc.py::test_sub"]), "test_cmd": TEST_CMD, "log_parser": "parse_log_pytest"},
        {"instance_id": "dgm__calc-2", "repo": "dgm/calc", "base_commit": base, "version": "0.1",
         "problem_statement": "mul(2, 3) returns 5; it should return the product.", "patch": patches["gold2"],
         "test_patch": patches["test2"], "FAIL_TO_PASS": ["tests/test_mul.py::test_mul"],
         "PASS_TO_PASS": ["tests/test_calc.py::test_sub"]},  # test_cmd from the suite's options
    ]  # fmt: skip
    data = root / "instances.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in instances))
    # Our repository under a repository key the swebench package knows: its own test
    # specification (eval script, `pytest -rA` on the test patch's files) and log parser apply.
    known = {**instances[0], "instance_id": "dgm__calc-known", "repo": "pytest-dev/pytest", "version": "5.4"}
    del known["test_cmd"], known["log_parser"]
    known_data = root / "known.jsonl"
    known_data.write_text(json.dumps(known) + "\n")
    # pytest is not in the sandbox image: copy the test runner's own (pure Python) packages in.
    site = Path(pytest_module.__file__).parents[1]
    (root / "context" / "site").mkdir()
    for name in ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "py.py"):
        for source in [site / name, *site.glob(f"{name}-*.dist-info")]:
            copy = shutil.copytree if source.is_dir() else shutil.copy
            copy(source, root / "context" / "site" / source.name)
    (root / "context" / "Dockerfile").write_text(
        "FROM dgm-sandbox:latest\nUSER root\nCOPY site /usr/lib/python3/dist-packages/\nCOPY testbed /testbed\n"
        "RUN printf '#!/bin/sh\\nexec python3 -m pytest -p no:cacheprovider \"$@\"\\n' > /usr/local/bin/pytest "
        "&& chmod 755 /usr/local/bin/pytest\n"
        # Like real environment images, a build leaves files git does not track in the repository.
        "RUN echo built > /testbed/calc/_built.txt\n"
    )
    client = docker.from_env()
    digest = hashlib.sha256(base.encode() + str(sorted(p.name for p in (root / "context" / "site").iterdir())).encode())
    image, _ = client.images.build(path=str(root / "context"), tag=f"dgm-swebench-test:ctx-{digest.hexdigest()[:12]}", rm=True,
                                   network_mode="none")
    for instance in [*instances, known]:
        image.tag("dgm-swebench-test", instance["instance_id"].lower().replace("__", "_1776_"))
    return World(repo, data, patches, known_data)
