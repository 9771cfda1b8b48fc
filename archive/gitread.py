"""Reading agents.git with the `git` command line: diffs, trees, file lists, refs.

Standard library only (one subprocess per question), so browsing commands skip GitPython's
import; git's own diff machinery is also the most faithful source of a unified diff.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dgm.archive.errors import ArchiveConsistencyError, ArchiveError, InvalidTreeError, MissingGitRepoError
from dgm.archive.records import FileChange

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
CHANGE_NAMES = {"A": "added", "D": "deleted", "M": "modified", "T": "type-changed"}


def git(git_dir: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """Run one git command on the bare repository and return its stdout.

    Raises: MissingGitRepoError when git cannot use the repository, ArchiveError otherwise.
    """
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    proc = subprocess.run(["git", "--git-dir", str(git_dir), *args], input=input, capture_output=True, env=full_env)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        first = message[0] if message else f"exit {proc.returncode}"
        if "not a git repository" in first:
            raise MissingGitRepoError(f"{git_dir} is not a git repository")
        raise ArchiveError(f"git {args[0]} failed in {git_dir}: {first}")
    return proc.stdout


def diff_text(git_dir: Path, old: str | None, new: str) -> str:
    """Unified diff from `old` (None: nothing, so every file is added) to `new`."""
    out = git(git_dir, "diff", "--no-color", "--no-renames", "--no-ext-diff", old or EMPTY_TREE, new)
    return out.decode("utf-8", "replace")


def changed_files(git_dir: Path, old: str | None, new: str) -> list[FileChange]:
    out = git(git_dir, "diff", "--no-renames", "--raw", "--numstat", "-z", old or EMPTY_TREE, new)
    fields = out.split(b"\0")
    kinds: dict[str, str] = {}
    counts: dict[str, tuple[int, int]] = {}
    i = 0
    while i < len(fields) and fields[i]:
        field = fields[i].decode("utf-8", "surrogateescape")
        if field.startswith(":"):  # raw: ':old new sha sha X' then the path
            kinds[fields[i + 1].decode("utf-8", "surrogateescape")] = CHANGE_NAMES.get(field.split()[-1][0], "modified")
            i += 2
        else:  # numstat: 'added\tdeleted\tpath' ('-' for binary files)
            added, deleted, path = field.split("\t", 2)
            counts[path] = (int(added) if added != "-" else 0, int(deleted) if deleted != "-" else 0)
            i += 1
    return [FileChange(path, kind, *counts.get(path, (0, 0))) for path, kind in sorted(kinds.items())]


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    sha: str
    path: str


def ls_tree(git_dir: Path, commit: str) -> list[TreeEntry]:
    out = git(git_dir, "ls-tree", "-r", "-z", "--full-tree", commit)
    entries = []
    for item in out.split(b"\0"):
        if item:
            head, path = item.split(b"\t", 1)
            mode, _kind, sha = head.decode().split()
            entries.append(TreeEntry(mode, sha, path.decode("utf-8", "surrogateescape")))
    return entries


def read_blobs(git_dir: Path, shas: list[str]) -> list[bytes]:
    """The contents of many blobs in one `git cat-file --batch` call."""
    if not shas:
        return []
    out = git(git_dir, "cat-file", "--batch", input=("\n".join(shas) + "\n").encode())
    blobs, pos = [], 0
    for _ in shas:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        start = header_end + 1
        blobs.append(out[start : start + size])
        pos = start + size + 1
    return blobs


def read_tree(git_dir: Path, commit: str) -> dict[str, bytes]:
    entries = [e for e in ls_tree(git_dir, commit) if e.mode != "160000"]
    return dict(zip((e.path for e in entries), read_blobs(git_dir, [e.sha for e in entries])))


def safe_relative(path: str) -> PurePosixPath:
    """Raises: InvalidTreeError for absolute paths, '..', '.', '.git' or empty parts."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\0" in path or any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        raise InvalidTreeError(f"invalid path in agent tree: {path!r}")
    return PurePosixPath(path)


def export(git_dir: Path, commit: str, dest: Path) -> None:
    """Write the commit's files under `dest` (created; must be empty or absent), keeping modes.

    Raises: ArchiveError when dest exists and is not an empty folder.
    """
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ArchiveError(f"{dest} exists and is not an empty folder")
    entries = [e for e in ls_tree(git_dir, commit) if e.mode in ("100644", "100755")]
    blobs = read_blobs(git_dir, [e.sha for e in entries])
    dest.mkdir(parents=True, exist_ok=True)
    for entry, data in zip(entries, blobs):
        target = dest.joinpath(*safe_relative(entry.path).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if entry.mode == "100755":
            target.chmod(0o755)


def agent_refs(git_dir: Path, prefix: str) -> dict[str, str]:
    """ref name -> commit sha, for every ref under `prefix`."""
    out = git(git_dir, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split(" ", 1) for line in out.decode().splitlines() if line)


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]


def all_commits(git_dir: Path) -> dict[str, CommitInfo]:
    """Every commit object in the repository, reachable or not."""
    out = git(git_dir, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)")
    shas = [line.split()[1] for line in out.decode().splitlines() if line.startswith("commit ")]
    return commits_info(git_dir, shas)


def commits_info(git_dir: Path, shas: list[str]) -> dict[str, CommitInfo]:
    if not shas:
        return {}
    out = git(git_dir, "log", "--no-walk=unsorted", "--format=%H %T %P", "--stdin", input=("\n".join(shas) + "\n").encode())
    info = {}
    for line in out.decode().splitlines():
        sha, tree, *parents = line.split()
        info[sha] = CommitInfo(sha, tree, tuple(parents))
    return info


def update_ref(git_dir: Path, ref: str, sha: str) -> None:
    git(git_dir, "update-ref", ref, sha)


def require_commit(git_dir: Path, sha: str, agent_id: str) -> None:
    """Raises: ArchiveConsistencyError when the agent's commit is not in the repository."""
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{sha}^{{commit}}"], capture_output=True)
    if proc.returncode != 0:
        raise ArchiveConsistencyError(f"agent {agent_id} names commit {sha[:12]}, which is missing from {git_dir}; run 'dgm archive verify'")
