"""Custom suites from a folder (format in CUSTOM_TASKS.md): `--suite custom:PATH`.

Each task is graded in its own fresh sandbox: the agent's output files, minus anything
that could hook the test run (conftest.py, sitecustomize.py, usercustomize.py, *.pth),
then the task's protected workspace files restored from their pristine copies, then the
hidden files on top; the task's test command decides by its exit code.
"""

from __future__ import annotations

import fnmatch
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

from dgm.evals.base import Task, TaskFormatError, Verdict
from dgm.evals.regrade import check_not_lost, once_more_if_lost
from dgm.sandbox import Backend, ExecResult, Limits, MachineFault, SandboxError

HOOK_FILES = ("conftest.py", "sitecustomize.py", "usercustomize.py", "*.pth", "pytest.ini", "tox.ini", "setup.cfg")
DEFAULT_PROTECTED = ("test_*.py", "*_test.py", "tests/*")
MAX_TASK_FILES = 2_000


@dataclass(frozen=True)
class CustomSpec:
    test: str
    """Shell command run in /work after the hidden files are added; exit 0 means passed."""
    timeout: float
    test_timeout: float
    protected: tuple[str, ...]
    hidden: Mapping[str, bytes]
    pristine: Mapping[str, bytes]


def _read_tree(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise TaskFormatError(f"{path}: links are not allowed in task folders")
        if path.is_file():
            files[path.relative_to(root).as_posix()] = path.read_bytes()
            if len(files) > MAX_TASK_FILES:
                raise TaskFormatError(f"{root}: more than {MAX_TASK_FILES} files")
    return files


def _matches(path: str, patterns: Sequence[str]) -> bool:
    name = PurePosixPath(path).name
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(name, p) for p in patterns)


def load_task(folder: Path, suite: str) -> Task:
    """Raises: TaskFormatError when the folder breaks the format."""
    meta_path, instruction_path = folder / "task.toml", folder / "instruction.md"
    if not meta_path.is_file() or not instruction_path.is_file():
        raise TaskFormatError(f"{folder}: a task needs task.toml and instruction.md")
    try:
        meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TaskFormatError(f"{meta_path}: {exc}") from None
    unknown = set(meta) - {"test", "timeout", "test_timeout", "protected"}
    if unknown:
        raise TaskFormatError(f"{meta_path}: unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(meta.get("test"), str) or not meta["test"].strip():
        raise TaskFormatError(f"{meta_path}: 'test' (the test command) is required")
    try:
        timeout, test_timeout = float(meta.get("timeout", 300)), float(meta.get("test_timeout", 60))
    except (TypeError, ValueError):
        raise TaskFormatError(f"{meta_path}: timeouts must be numbers") from None
    protected = meta.get("protected", list(DEFAULT_PROTECTED))
    if not isinstance(protected, list) or not all(isinstance(p, str) for p in protected):
        raise TaskFormatError(f"{meta_path}: 'protected' must be a list of glob patterns")
    workspace = _read_tree(folder / "workspace")
    hidden = _read_tree(folder / "hidden")
    pristine = {p: d for p, d in workspace.items() if _matches(p, protected)}
    spec = CustomSpec(meta["test"], timeout, test_timeout, tuple(protected), hidden, pristine)
    return Task(f"{suite}/{folder.name}", suite, instruction_path.read_text(encoding="utf-8"), workspace, spec, timeout)


def graded_files(output: Mapping[str, bytes], spec: CustomSpec) -> dict[str, bytes]:
    """What the test run sees: the agent's files without hooks or protected paths, then the
    pristine protected files, then the hidden files."""
    files = {p: d for p, d in output.items() if not _matches(p, HOOK_FILES) and not _matches(p, spec.protected)}
    files.update(spec.pristine)
    files.update(spec.hidden)
    return files


class CustomSuite:
    def __init__(self, folder: Path, workers: int = 2) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise TaskFormatError(f"{folder} is not a folder of tasks")
        self.folder, self.workers = folder, workers
        self.name = f"custom-{folder.resolve().name}"
        self._tasks = [load_task(d, self.name) for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")]
        if not self._tasks:
            raise TaskFormatError(f"{folder} holds no task folders")

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def grade(self, backend: Backend, items: Sequence[tuple[Task, Mapping[str, bytes]]]) -> list[Verdict]:
        with ThreadPoolExecutor(max(1, self.workers)) as pool:
            return list(pool.map(lambda item: self._grade_one(backend, *item), items))

    def _grade_one(self, backend: Backend, task: Task, output: Mapping[str, bytes]) -> Verdict:
        spec: CustomSpec = task.hidden
        limits = Limits(wall_seconds=spec.test_timeout + 60, exec_timeout=spec.test_timeout, output_bytes=200_000)

        def test() -> ExecResult:
            with backend.start(limits, [], {"purpose": "grade"}) as session:
                session.put_files("/work", graded_files(output, spec))
                result = session.exec(["sh", "-c", spec.test], timeout=spec.test_timeout, cwd="/work")
            check_not_lost(result)
            return result

        try:
            result = once_more_if_lost(task.id, test)
        except MachineFault:
            raise  # not the agent's doing: the stage runs again, never a failed verdict
        except SandboxError as exc:
            return Verdict(task.id, False, "grader-error", str(exc))
        log = (result.stdout + result.stderr).decode("utf-8", "replace")[-20_000:]
        if result.timed_out:
            return Verdict(task.id, False, "timeout", log)
        return Verdict(task.id, result.exit_code == 0, "ok" if result.exit_code == 0 else "failed", log)
