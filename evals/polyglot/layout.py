"""Reading a Polyglot checkout: `<language>/exercises/practice/<slug>/` with `.meta/config.json`
(which files are the solution, the tests, the example), `.docs/instructions.md` (and
`instructions.append.md`), the stub files and the test files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from dgm.evals.base import TaskFormatError

LANGUAGES = ("python", "javascript", "go", "rust", "cpp", "java")
MAX_FILES = 500
MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Exercise:
    language: str
    slug: str
    instructions: str
    solution: tuple[str, ...]
    """Files the agent edits: the only files of its output that are graded."""
    tests: tuple[str, ...]
    example: tuple[str, ...]
    files: Mapping[str, bytes]
    """Every file of the exercise but `.meta/` and `.docs/`, as shipped (stubs included)."""

    @property
    def pristine(self) -> dict[str, bytes]:
        """The exercise's files without the solution stubs: restored before every grading."""
        return {p: d for p, d in self.files.items() if p not in self.solution}


def _clean(rel: object, where: Path) -> str:
    if not isinstance(rel, str) or not rel or rel.startswith("/") or ".." in PurePosixPath(rel).parts:
        raise TaskFormatError(f"{where}: bad file name {rel!r} in .meta/config.json")
    return PurePosixPath(rel).as_posix()


def _file_list(files: dict, key: str, where: Path) -> tuple[str, ...]:
    value = files.get(key, [])
    if not isinstance(value, list):
        raise TaskFormatError(f"{where}: files.{key} must be a list")
    return tuple(_clean(v, where) for v in value)


def _read_files(folder: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in (".meta", ".docs") or not path.is_file() or path.is_symlink():
            continue
        out[rel.as_posix()] = data = path.read_bytes()
        total += len(data)
        if len(out) > MAX_FILES or total > MAX_BYTES:
            raise TaskFormatError(f"{folder}: more than {MAX_FILES} files or {MAX_BYTES >> 20} MiB")
    return out


def read_exercise(folder: Path, language: str) -> Exercise:
    """Raises: TaskFormatError when the folder breaks the layout."""
    config_path, docs = folder / ".meta" / "config.json", folder / ".docs"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TaskFormatError(f"{config_path}: {exc}") from None
    files = config.get("files") if isinstance(config, dict) else None
    if not isinstance(files, dict):
        raise TaskFormatError(f"{config_path}: no 'files' object")
    solution, tests = _file_list(files, "solution", config_path), _file_list(files, "test", config_path)
    example = _file_list(files, "example", config_path)
    if not solution or not tests:
        raise TaskFormatError(f"{config_path}: files.solution and files.test must name at least one file")
    try:
        parts = [(docs / "instructions.md").read_text(encoding="utf-8")]
    except OSError:
        raise TaskFormatError(f"{folder}: .docs/instructions.md is missing") from None
    append = docs / "instructions.append.md"
    if append.is_file():
        parts.append(append.read_text(encoding="utf-8"))
    shipped = _read_files(folder)
    missing = [t for t in tests if t not in shipped]
    if missing:
        raise TaskFormatError(f"{folder}: test file(s) {', '.join(missing)} missing")
    return Exercise(language, folder.name, "\n\n".join(p.strip() for p in parts) + "\n", solution, tests, example,
                    shipped)


def example_files(folder: Path, exercise: Exercise) -> dict[str, bytes]:
    """The reference solution, mapped onto the solution's file names (Exercism keeps it under
    `.meta/`, often under another name): for tests and sanity checks, never for agents."""
    found = [folder / rel for rel in exercise.example]
    if len(found) != len(exercise.solution):
        raise TaskFormatError(f"{folder}: files.example and files.solution differ in length")
    return {sol: path.read_bytes() for sol, path in zip(exercise.solution, found)}


def read_checkout(root: Path, languages: tuple[str, ...] = LANGUAGES) -> list[tuple[Path, Exercise]]:
    """Every exercise of the chosen languages, in a stable order.

    Raises: TaskFormatError when the checkout has none, or one breaks the layout.
    """
    if not root.is_dir():
        raise TaskFormatError(f"{root} is not a folder (expected a Polyglot checkout)")
    out = []
    for language in languages:
        practice = root / language / "exercises" / "practice"
        if practice.is_dir():
            for folder in sorted(p for p in practice.iterdir() if p.is_dir() and not p.name.startswith(".")):
                out.append((folder, read_exercise(folder, language)))
    if not out:
        raise TaskFormatError(f"{root}: no <language>/exercises/practice/<slug>/ folders for {', '.join(languages)}")
    return out
