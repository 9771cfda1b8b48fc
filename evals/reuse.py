"""Reuse of evaluations: an identical agent tree on the same task set is not run again.

The key of an evaluation is (tree hash, suite, task-ids key). Without an archive, stage
results are kept as JSON under ~/.cache/dgm/evals (DGM_CACHE_DIR overrides the base).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

GRADER_VERSION = "1"
"""Bump when grading changes in a way that makes old results incomparable."""


def task_ids_key(task_ids: Iterable[str]) -> str:
    """The key of a task set (order and duplicates ignored), the one definition: the archive
    stores it with an evaluation (`task_key`) and finds a reusable result by it."""
    ids = sorted(set(task_ids))
    return f"n{len(ids)}-{hashlib.sha256(chr(10).join(ids).encode()).hexdigest()[:16]}"


def dir_tree_hash(root: Path) -> str:
    """Content hash of a directory (relative paths, executable bits, bytes); caches and
    bytecode excluded, links hashed by target, so copies of one agent hash alike."""
    digest = hashlib.sha256()
    root = Path(root)
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if "__pycache__" in path.parts or path.suffix == ".pyc" or ".git" in path.relative_to(root).parts:
            continue
        if path.is_symlink():
            digest.update(f"L {rel}\0{os.readlink(path)}\0".encode())
        elif path.is_file():
            mode = "x" if os.access(path, os.X_OK) else "f"
            digest.update(f"{mode} {rel}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_root() -> Path:
    base = os.environ.get("DGM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dgm"
    )
    return Path(base) / "evals"


class DiskCache:
    """Stage results keyed by (tree, suite, task set, grader version)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()

    def _path(self, tree_hash: str, suite: str, key: str) -> Path:
        name = hashlib.sha256(f"{GRADER_VERSION}\0{tree_hash}\0{suite}\0{key}".encode()).hexdigest()
        return self.root / name[:2] / f"{name}.json"

    def get(self, tree_hash: str, suite: str, key: str) -> list[dict] | None:
        path = self._path(tree_hash, suite, key)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data.get("results") if isinstance(data, dict) else None

    def put(self, tree_hash: str, suite: str, key: str, results: list[dict]) -> None:
        path = self._path(tree_hash, suite, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"suite": suite, "results": results}))
        tmp.replace(path)
