"""`dgm archive` through the real CLI: output for humans and scripts, and every bad input
giving one line on stderr, a non-zero exit, no traceback and no file changed."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
from archive_family import make_run, snapshot

from dgm.archive import Archive


def dgm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "120", **(env or {})}
    full_env.pop("DGM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "dgm.cli", *args], capture_output=True, text=True, env=full_env, timeout=120)


def assert_one_line_failure(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dgm: error: ") and "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# Output


def test_ls_table_and_json(family):
    proc = dgm("archive", "ls", "--run", str(family.run))
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["a4 *", "a3", "a2", "a1"]  # newest first, best starred
    assert "$0.2500" in proc.stdout and "invalid" in proc.stdout
    data = json.loads(dgm("archive", "ls", "--run", str(family.run), "--json", "--sort", "score").stdout)
    assert [row["id"] for row in data] == ["a4", "a2", "a1", "a3"]
    assert data[1]["children"] == 1 and data[1]["cost_usd"] == 0.25 and data[1]["meta"]["problem_statement"] == "greet the world"
    data = json.loads(dgm("archive", "ls", "--run", str(family.run), "--json", "--status", "invalid").stdout)
    assert [row["id"] for row in data] == ["a3"]
    assert "1 of 4" in dgm("archive", "ls", "--run", str(family.run), "--limit", "1").stdout


def test_tree_show_best_diff_export(family, tmp_path):
    tree = dgm("archive", "tree", "--run", str(family.run)).stdout
    assert tree.index("a1") < tree.index("a2") < tree.index("a4") < tree.index("a3")
    assert "★ best" in tree and "invalid" in tree
    data = json.loads(dgm("archive", "tree", "--json", "--run", str(family.run)).stdout)
    assert data["best"] == "a4" and data["best_path"] == ["a1", "a2", "a4"]

    show = dgm("archive", "show", "a2", "--run", str(family.run))
    assert show.returncode == 0, show.stderr
    for needle in ("greet the world", "humaneval", "agent.py", "modified", "approve", "clean change", "$0.2500"):
        assert needle in show.stdout
    detail = json.loads(dgm("archive", "show", "best", "--json", "--run", str(family.run)).stdout)
    assert detail["id"] == "a4" and detail["files_changed"] == [{"path": "README.md", "change": "deleted", "added": 0, "deleted": 1}]
    assert json.loads(dgm("archive", "best", "--json", "--run", str(family.run)).stdout)["id"] == "a4"

    diff = dgm("archive", "diff", "a2", "--run", str(family.run))
    assert diff.stdout.startswith("diff --git a/agent.py b/agent.py") and "\x1b[" not in diff.stdout  # plain when piped
    assert "tools/new.py" in dgm("archive", "diff", "a2", "a3", "--run", str(family.run)).stdout

    out = tmp_path / "exported"
    proc = dgm("archive", "export", "a3", str(out), "--run", str(family.run))
    assert proc.returncode == 0, proc.stderr
    assert (out / "tools/new.py").read_bytes() == b"X = 1\n" and (out / "README.md").exists()
    assert_one_line_failure(dgm("archive", "export", "a3", str(out), "--run", str(family.run)), "not an empty folder")


def test_verify_exit_codes(family):
    ok = dgm("archive", "verify", "--run", str(family.run))
    assert ok.returncode == 0 and "consistent" in ok.stdout
    subprocess.run(["git", "--git-dir", str(family.run / "agents.git"), "update-ref", "-d", "refs/agents/a3"], check=True)
    bad = dgm("archive", "verify", "--json", "--run", str(family.run))
    assert bad.returncode == 1 and json.loads(bad.stdout)["issues"][0]["kind"] == "missing-ref"
    fixed = dgm("archive", "verify", "--repair", "--run", str(family.run))
    assert fixed.returncode == 0 and "re-created" in fixed.stdout
    assert dgm("archive", "verify", "--run", str(family.run)).returncode == 0


# Bad input: one line, non-zero, nothing modified


def test_unknown_agent(family):
    before = snapshot(family.run)
    for args in (("show", "a99"), ("diff", "a99"), ("diff", "a1", "a99"), ("export", "a99", str(family.run.parent / "x"))):
        assert_one_line_failure(dgm("archive", *args, "--run", str(family.run)), "a99")
    assert snapshot(family.run) == before and not (family.run.parent / "x").exists()


def test_not_a_run(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("hi")
    assert_one_line_failure(dgm("archive", "ls", "--run", str(plain)), "not a run directory")
    assert_one_line_failure(dgm("archive", "ls", "--run", str(tmp_path / "missing")), "does not exist")
    half = make_run(tmp_path / "half")  # run.toml but no archive
    assert_one_line_failure(dgm("archive", "tree", "--run", str(half)), "archive.db")
    assert sorted(p.name for p in plain.iterdir()) == ["notes.txt"] and sorted(p.name for p in half.iterdir()) == ["run.toml"]


def test_newer_schema(family):
    conn = sqlite3.connect(family.run / "archive.db")
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '2030-01-01')")
    conn.commit()
    conn.close()
    before = snapshot(family.run)
    assert_one_line_failure(dgm("archive", "ls", "--run", str(family.run)), "schema version 99", "upgrade dgm")
    from dgm.archive import SchemaTooNewError

    for readonly in (True, False):
        with pytest.raises(SchemaTooNewError):
            Archive.open(family.run, readonly=readonly)
    assert snapshot(family.run) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_database(family, damage):
    db = family.run / "archive.db"
    data = db.read_bytes()
    db.write_bytes(b"this is not sqlite " * 200 if damage == "garbage" else data[: len(data) // 3])
    before = snapshot(family.run)
    for command in ("ls", "tree", "best"):
        assert_one_line_failure(dgm("archive", command, "--run", str(family.run)), "archive.db")
    from dgm.archive import ArchiveCorruptError

    for readonly in (True, False):
        with pytest.raises(ArchiveCorruptError):
            Archive.open(family.run, readonly=readonly)
    assert snapshot(family.run) == before
    assert sorted(p.name for p in family.run.iterdir()) == ["agents.git", "archive.db", "logs", "run.toml"]


def test_missing_git_repository(family):
    shutil.rmtree(family.run / "agents.git")
    before = snapshot(family.run)
    for command in ("ls", "show a2", "verify"):
        assert_one_line_failure(dgm("archive", *command.split(), "--run", str(family.run)), "agents.git")
    assert snapshot(family.run) == before


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode = EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
conn.execute("SELECT count(*) FROM agents").fetchall()
print("locked", flush=True)
time.sleep(60)
"""


def test_locked_database(family, monkeypatch):
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(family.run / "archive.db")], stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        before = snapshot(family.run)
        started = time.monotonic()
        proc = dgm("archive", "ls", "--run", str(family.run), env={"DGM_ARCHIVE_BUSY_TIMEOUT": "0.3"})
        assert_one_line_failure(proc, "locked", "archive.db")
        from dgm.archive import ArchiveLockedError

        monkeypatch.setenv("DGM_ARCHIVE_BUSY_TIMEOUT", "0.3")
        with pytest.raises(ArchiveLockedError):
            Archive.open(family.run, readonly=True)
        assert time.monotonic() - started < 30
        assert snapshot(family.run) == before
    finally:
        locker.kill()
        locker.wait()
