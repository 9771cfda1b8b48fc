"""A read-only view of a run's archive over the standard library's sqlite3.

This is what `dgm archive ls|tree|show|diff|best|export|verify` use: it imports neither
sqlmodel/SQLAlchemy nor GitPython (git questions go to the `git` command), so browsing a
10,000-agent archive starts in a fraction of the time the write path needs to import.
Opening never creates a file: run checks come first, and see `archive.sqlite` for WAL.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Mapping

from dgm.archive import sqlite
from dgm.archive.errors import ArchiveCorruptError, SchemaTooNewError, SchemaTooOldError
from dgm.archive.layout import RunLayout
from dgm.archive.queries import Queries
from dgm.archive.schema import SCHEMA_VERSION


def check_schema(version: int, path: Path) -> None:
    """Raises: ArchiveCorruptError (no schema at all), SchemaTooNewError (written by a newer
    dgm), SchemaTooOldError (needs migrating)."""
    if version == 0:  # Archive.create always migrates: a file without our tables was emptied or replaced
        raise ArchiveCorruptError(f"{path} holds no archive (empty or replaced); restore it from a backup")
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{path} has schema version {version}, newer than this dgm understands ({SCHEMA_VERSION}); upgrade dgm"
        )
    if version < SCHEMA_VERSION:
        raise SchemaTooOldError(
            f"{path} has schema version {version} (current {SCHEMA_VERSION}); migrate it in place with 'dgm archive migrate'"
        )


class Reader(Queries):
    """Read-only archive on sqlite3. Thread-safe: one connection, guarded by SQLite's own mutex."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection):
        self._root = Path(run_dir)
        self._layout = RunLayout(self._root)
        self._git_dir = self._layout.git
        self._conn = conn

    @classmethod
    def open(cls, run_dir: Path) -> "Reader":
        """Raises: NotARunError, MissingGitRepoError, ArchiveCorruptError, ArchiveLockedError,
        SchemaTooNewError, SchemaTooOldError; nothing is created or modified in any case."""
        layout = RunLayout(Path(run_dir))
        layout.check_existing()
        conn = sqlite.connect(layout.db, readonly=True)
        reader = cls(layout.root, conn)
        try:
            check_schema(reader.schema_version(), layout.db)
        except BaseException:
            conn.close()
            raise
        return reader

    def _rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        return sqlite.with_retry(lambda: sqlite.rows(self._conn, sql, dict(params or {})), self._layout.db)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
