"""`[store] url` and `dgm init --db`: what is refused, in one line, and what never loads psycopg."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dgm.config import parse_config
from dgm.errors import ConfigError


def dgm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PGPASS")}
    return subprocess.run([sys.executable, "-m", "dgm.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**clean, "DGM_MODEL": "", **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and lines[0].startswith("dgm: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://me@db/x", "store.url must be empty (SQLite in the run folder) or a postgresql:// URL"),
        ("postgresql://me:hunter2@db/x", "store.url holds a password"),
        ("postgresql://me@db/x?password=hunter2", "store.url holds a password"),
    ],
)
def test_a_bad_store_url_is_refused(url, message):
    with pytest.raises(ConfigError) as info:
        parse_config(f'[store]\nurl = "{url}"')
    assert message in str(info.value) and "hunter2" not in str(info.value)


def test_init_refuses_a_password_and_leaves_nothing(tmp_path):
    run = tmp_path / "r"
    one_line_error(dgm("init", str(run), "--db", "postgresql://me:hunter2@localhost/x"), "PGPASSWORD", "~/.pgpass")
    assert not run.exists()


def test_an_unreachable_server_is_one_line_and_leaves_nothing(tmp_path):
    run = tmp_path / "r"
    url = f"postgresql://dgm@/x?host={tmp_path / 'no-server'}"
    one_line_error(dgm("init", str(run), "--db", url), "cannot reach the archive database", str(tmp_path / "no-server"))
    assert not run.exists()


def test_two_runs_never_share_one_database(tmp_path, pg_url):
    assert dgm("init", str(tmp_path / "first"), "--db", pg_url).returncode == 0
    one_line_error(dgm("init", str(tmp_path / "second"), "--db", pg_url), "already holds an archive")
    assert not (tmp_path / "second").exists()
    shown = dgm("archive", "ls", "--run", str(tmp_path / "first"))
    assert shown.returncode == 0 and "a1" in shown.stdout, "the first run is untouched"


def test_a_run_on_sqlite_never_loads_the_postgresql_driver(tmp_path):
    run = tmp_path / "r"
    assert dgm("init", str(run)).returncode == 0
    probe = (
        "import sys; from pathlib import Path; from archive import Archive, Reader\n"
        f"Reader.open(Path({str(run)!r})).summaries(); Archive.open(Path({str(run)!r})).close()\n"
        "import dgm.cli\n"
        "assert 'psycopg' not in sys.modules and 'sqlalchemy.dialects.postgresql' not in sys.modules, sorted(m for m in sys.modules if 'psycopg' in m or 'postgres' in m)"
    )
    check = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert (run / "archive.db").is_file()


def test_the_password_comes_from_libpq_never_from_run_toml(tmp_path, pg_server):
    """A role that must authenticate: PGPASSWORD or a password file (PGPASSFILE, as ~/.pgpass)
    let every command in; without them, one line; the password is written nowhere."""
    secret = "pw-4b1d-never-in-run-toml"
    pg_server.sql(f"CREATE ROLE dgm_password LOGIN PASSWORD '{secret}'")
    url = pg_server.new_database(owner="dgm_password")
    run = tmp_path / "r"
    one_line_error(dgm("init", str(run), "--db", url), "no password supplied", "PGPASSWORD or ~/.pgpass")
    assert not run.exists()

    assert dgm("init", str(run), "--db", url, env={"PGPASSWORD": secret}).returncode == 0
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:*:dgm_password:{secret}\n")
    pgpass.chmod(0o600)
    shown = dgm("archive", "ls", "--run", str(run), env={"PGPASSFILE": str(pgpass)})
    assert shown.returncode == 0 and "a1" in shown.stdout, shown.stderr
    one_line_error(dgm("archive", "ls", "--run", str(run)), "password")
    assert all(secret not in path.read_text(errors="replace") for path in run.rglob("*") if path.is_file())
