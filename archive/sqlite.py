"""Opening the SQLite archive with the standard library, and naming SQLite's failures.

Both the light reader and the SQLModel store open their connections here, so WAL mode, the
busy timeout and the read-only rules are the same everywhere. A read-only open uses mode=rw
with `query_only`: SQLite then removes its -wal/-shm side files when the connection closes,
whereas mode=ro leaves them behind (measured); mode=ro is the fallback for unwritable folders.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from dgm.archive.errors import ArchiveCorruptError, ArchiveError, ArchiveLockedError

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT = 10.0


def busy_timeout() -> float:
    """Seconds to wait on a lock held by another process (DGM_ARCHIVE_BUSY_TIMEOUT overrides)."""
    return float(os.environ.get("DGM_ARCHIVE_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT))


def connect(path: Path, *, readonly: bool, create: bool = False, timeout: float | None = None) -> sqlite3.Connection:
    """A connection in autocommit mode (callers BEGIN explicitly), rows as sqlite3.Row.

    Raises: ArchiveLockedError, ArchiveCorruptError (see `translate`).
    """
    timeout = busy_timeout() if timeout is None else timeout
    mode = "rwc" if create else "rw"
    try:
        try:
            conn = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError:
            if not readonly:
                raise
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise translate(exc, path) from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if readonly:
            conn.execute("PRAGMA query_only = 1")
        else:
            if create:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")  # a committed row survives a power cut
            conn.execute("PRAGMA foreign_keys = ON")
        return conn
    except sqlite3.Error as exc:
        conn.close()  # now, not at garbage collection: closing removes SQLite's side files
        raise translate(exc, path) from None


def translate(exc: BaseException, path: Path | str) -> ArchiveError:
    """SQLite's error as one of ours, naming the file."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return ArchiveLockedError(f"{path} is locked by another process ({text}); try again later")
    if "not a database" in lowered or "malformed" in lowered or "disk image" in lowered or "corrupt" in lowered:
        return ArchiveCorruptError(f"{path} is not a readable archive database ({text})")
    if "unable to open" in lowered:
        return ArchiveCorruptError(f"{path} cannot be opened ({text})")
    return ArchiveError(f"{path}: {text}")


def is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def with_retry(fn: Callable[[], T], path: Path | str, timeout: float | None = None) -> T:
    """Run `fn`, retrying while SQLite reports the database busy, up to the busy timeout.

    The busy handler covers most waits; this covers the cases where SQLite returns BUSY at
    once (a WAL snapshot that cannot be upgraded, recovery by another process).
    Raises: ArchiveLockedError when still busy at the deadline.
    """
    deadline = time.monotonic() + (busy_timeout() if timeout is None else timeout)
    delay = 0.01
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise translate(exc, path) from None
        except sqlite3.DatabaseError as exc:
            raise translate(exc, path) from None
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def rows(conn: sqlite3.Connection, sql: str, params: dict[str, Any] | None = None) -> list[sqlite3.Row]:
    return conn.execute(sql, params or {}).fetchall()
