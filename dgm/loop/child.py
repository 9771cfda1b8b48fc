"""Turning what self-modification left in /work into a child, and deciding whether it is valid.

Checks here read files only (ast.parse compiles, it never runs code); anything that runs the
child happens in a sandbox (the smoke task).
"""

from __future__ import annotations

import ast
from typing import Mapping

JUNK_PARTS = ("__pycache__", ".git", ".pytest_cache")
JUNK_SUFFIXES = (".pyc", ".pyo")

SMOKE_FILE = "greeting.txt"
SMOKE_BEFORE = b"hello world\n"
SMOKE_AFTER = "goodbye world"
SMOKE_INSTRUCTION = (
    f"Edit the file {SMOKE_FILE} in the workspace so that it contains exactly the line "
    f"'{SMOKE_AFTER}' (replace the word hello with goodbye). Change nothing else."
)
SMOKE_WORKSPACE: Mapping[str, bytes] = {SMOKE_FILE: SMOKE_BEFORE}


def clean_tree(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """Drop caches and VCS folders that running an agent leaves behind."""
    return {
        path: data
        for path, data in files.items()
        if not any(part in JUNK_PARTS for part in path.split("/")) and not path.endswith(JUNK_SUFFIXES)
    }


def invalid_reason(parent: Mapping[str, bytes], child: Mapping[str, bytes]) -> str | None:
    """Why the child cannot be an agent at all, or None. Cheap checks, before any sandbox."""
    if dict(parent) == dict(child):
        return "empty diff: self-modification changed nothing"
    if "agent.py" not in child:
        return "agent.py was deleted"
    for path, data in sorted(child.items()):
        if not path.endswith(".py"):
            continue
        try:
            ast.parse(data.decode("utf-8"), filename=path)
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            return f"{path} does not compile{f' (line {line})' if line else ''}: {exc.__class__.__name__}"
    return None


def smoke_passed(files: Mapping[str, bytes]) -> bool:
    return files.get(SMOKE_FILE, b"").decode("utf-8", "replace").strip() == SMOKE_AFTER
