"""Writing agents to the bare repository agents.git with GitPython's object database.

Blobs, trees and commits are written straight into the loose object store by gitdb (no index,
no work tree, no subprocess per object: GitPython's default database would run
`git hash-object` for each, measured at ~2 ms an object here): a child that changes a few lines of a 20-file agent costs
one or two new blobs, the trees above them and one commit. Unchanged objects are found by
their sha and not written again.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path
from typing import Mapping

import git
from gitdb import IStream, LooseObjectDB
from gitdb.exc import BadObject

from dgm.archive.errors import InvalidTreeError, MissingGitRepoError
from dgm.archive.gitread import safe_relative

AUTHOR = "dgm <dgm@localhost>"
FILE, EXECUTABLE, TREE = "100644", "100755", "40000"


def init_bare(git_dir: Path) -> None:
    """A bare repository whose housekeeping never deletes anything and never runs detached:
    orphan commits are evidence (listed by verify, never pruned), and a background gc would
    outlive the process that started it."""
    repo = git.Repo.init(git_dir, bare=True, mkdir=True)
    with repo.config_writer() as config:
        config.set_value("gc", "pruneExpire", "never")
        config.set_value("gc", "autoDetach", "false")
    repo.close()


def parse_tree(data: bytes) -> list[tuple[str, str, bytes]]:
    """(mode, name, binsha) entries of a raw git tree object."""
    entries, pos = [], 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        entries.append((data[pos:space].decode(), data[space + 1 : nul].decode("utf-8", "surrogateescape"), data[nul + 1 : nul + 21]))
        pos = nul + 21
    return entries


class GitWriter:
    """One repository handle; callers serialise use (the store holds its lock)."""

    def __init__(self, git_dir: Path):
        try:
            self.repo = git.Repo(git_dir)
        except (git.exc.NoSuchPathError, git.exc.InvalidGitRepositoryError):
            raise MissingGitRepoError(f"{git_dir} is missing or is not a git repository") from None
        self.odb = self.repo.odb  # reads: git's persistent cat-file process (loose and packed)
        self.loose = LooseObjectDB(str(Path(git_dir) / "objects"))
        self.packed = any((Path(git_dir) / "objects" / "pack").glob("*.pack"))
        self.git_dir = Path(git_dir)
        self.unsynced: list[Path] = []

    def close(self) -> None:
        self.repo.close()

    def has(self, binsha: bytes) -> bool:
        if self.loose.has_object(binsha):  # loose objects: a stat
            return True
        if not self.packed:
            return False
        try:  # packed objects: git's own persistent cat-file process
            self.odb.info(binsha)
            return True
        except (BadObject, ValueError):
            return False

    def store(self, kind: bytes, data: bytes) -> bytes:
        binsha = hashlib.sha1(kind + b" %d\0" % len(data) + data).digest()
        if not self.has(binsha):
            self.loose.store(IStream(kind, len(data), io.BytesIO(data)))
            self.unsynced.append(Path(self.loose.db_path(self.loose.object_path(binsha.hex()))))
        return binsha

    def sync(self, ref: str | None = None) -> None:
        """fsync the objects written since the last sync, then the ref and its folder, so that
        after a power cut a database row never names a commit that did not reach the disk.

        The object folders are not synced one by one: the last fsync commits the filesystem's
        journal, renames included (ext4, data=ordered), as git's own batch fsync mode relies on.
        """
        paths = list(self.unsynced)
        if ref and (self.git_dir / ref).is_file():
            paths += [self.git_dir / ref, (self.git_dir / ref).parent]
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self.unsynced.clear()

    def read(self, hexsha: str) -> bytes:
        return self.odb.stream(bytes.fromhex(hexsha)).read()

    def file_modes(self, tree_hex: str) -> dict[str, str]:
        """path -> mode of every file under a tree (only trees are read, never blobs)."""
        modes: dict[str, str] = {}
        stack = [("", tree_hex)]
        while stack:
            prefix, sha = stack.pop()
            for mode, name, binsha in parse_tree(self.read(sha)):
                if mode == TREE:
                    stack.append((f"{prefix}{name}/", binsha.hex()))
                else:
                    modes[prefix + name] = mode
        return modes

    def write_tree(self, files: Mapping[str, tuple[str, bytes]]) -> str:
        """Write a whole tree from path -> (mode, content); returns the tree's hex sha.

        Raises: InvalidTreeError for a path that cannot be stored.
        """
        root: dict = {}
        for path, entry in files.items():
            *dirs, name = safe_relative(path).parts
            node = root
            for part in dirs:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise InvalidTreeError(f"invalid agent tree: {path!r} is under a file")
            if isinstance(node.get(name), dict):
                raise InvalidTreeError(f"invalid agent tree: {path!r} is also a folder")
            node[name] = entry
        return self._write_node(root).hex()

    def _write_node(self, node: dict) -> bytes:
        items = []
        for name, value in node.items():
            if isinstance(value, dict):
                items.append((name + "/", TREE, name, self._write_node(value)))
            else:
                mode, data = value
                items.append((name, mode, name, self.store(b"blob", data)))
        items.sort(key=lambda item: item[0].encode("utf-8", "surrogateescape"))
        body = b"".join(f"{mode} ".encode() + name.encode("utf-8", "surrogateescape") + b"\0" + sha for _, mode, name, sha in items)
        return self.store(b"tree", body)

    def write_commit(self, tree_hex: str, parent_hex: str | None, message: str) -> str:
        stamp = f"{AUTHOR} {int(time.time())} +0000"
        lines = [f"tree {tree_hex}"] + ([f"parent {parent_hex}"] if parent_hex else [])
        lines += [f"author {stamp}", f"committer {stamp}", "", message.rstrip("\n"), ""]
        return self.store(b"commit", "\n".join(lines).encode()).hex()

    def tree_of(self, commit_hex: str) -> str:
        return self.read(commit_hex).split(b"\n", 1)[0].split()[1].decode()

    def set_ref(self, ref: str, commit_hex: str) -> None:
        target = git.Object.new_from_sha(self.repo, bytes.fromhex(commit_hex))
        git.Reference.create(self.repo, ref, target, force=True)
