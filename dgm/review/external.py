"""Open a child's diff in the reviewer's own tools: `git difftool` or $EDITOR.

Agents are commits in the run's bare `agents.git`, the parent commit being the git parent, so
`git difftool PARENT CHILD` works as in any repository (with the user's diff.tool settings).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from dgm.errors import DgmError


class ToolError(DgmError):
    """The reviewer's difftool or editor could not be started."""


def difftool(git_dir: Path, old_commit: str | None, new_commit: str, path: str | None = None) -> int:
    """Run `git difftool` between two agent commits (None: the empty tree, for a seed).

    Raises: ToolError when git cannot be started.
    """
    old = old_commit or "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree
    with tempfile.TemporaryDirectory(prefix="dgm-difftool-") as work_tree:
        # difftool insists on a work tree even between two commits; an empty one is never read
        cmd = ["git", "--git-dir", str(git_dir), "--work-tree", work_tree, "difftool", "--no-prompt", old, new_commit]
        if path:
            cmd += ["--", path]
        try:
            return subprocess.run(cmd, cwd=work_tree).returncode
        except OSError as exc:
            raise ToolError(f"cannot run git difftool: {exc.strerror or exc}") from exc


def open_in_editor(diff: str, name: str) -> int:
    """Write the diff to a temporary `NAME.diff` and open it in $VISUAL / $EDITOR (vi if unset).

    Raises: ToolError when the editor cannot be started.
    """
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="dgm-review-") as tmp:
        target = Path(tmp) / f"{name}.diff"
        target.write_text(diff)
        try:
            return subprocess.run([*shlex.split(editor), str(target)]).returncode
        except OSError as exc:
            raise ToolError(f"cannot start the editor '{editor}': {exc.strerror or exc}") from exc
