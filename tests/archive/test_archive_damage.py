"""A damaged or emptied archive.db: detected, reported in one line, never written to."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest
from test_archive_cli import assert_one_line_failure, dgm

from dgm.archive import Archive, ArchiveCorruptError


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def damage_a_table_page(db_path) -> None:
    """Overwrite the root page of the ledger table with noise (the file still opens)."""
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'llm_calls'").fetchone()[0]
    with open(db_path, "r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(os.urandom(page_size))


def test_a_damaged_page_is_found_and_nothing_is_written(family):
    db_path = family.run / "archive.db"
    damage_a_table_page(db_path)
    before = digest(db_path)
    with pytest.raises(ArchiveCorruptError):
        Archive.open(family.run)
    verify = dgm("archive", "verify", "--run", str(family.run))
    said = verify.stdout + verify.stderr
    assert verify.returncode != 0 and ("database-corrupt" in said or "malformed" in said), said
    note = dgm("review", "note", family.child, "--note", "x", "--run", str(family.run))
    assert_one_line_failure(note, "archive.db")
    assert digest(db_path) == before


def test_an_emptied_database_is_not_rebuilt_behind_the_users_back(family):
    db_path = family.run / "archive.db"
    for suffix in ("-wal", "-shm"):
        (family.run / f"archive.db{suffix}").unlink(missing_ok=True)
    db_path.write_bytes(b"")
    for args in (("archive", "ls"), ("status",), ("review", "approve", family.child)):
        assert_one_line_failure(dgm(*args, "--run", str(family.run)), "holds no archive")
    assert db_path.stat().st_size == 0
