"""A real PostgreSQL server for the tests: one per session, a fresh database per test.

The server is started by scripts/pg-test-server.sh (initdb + pg_ctl in a temporary folder,
listening on a unix socket there only, trust auth), so CI and a developer start it the same
way. Nothing is mocked: the archive's suite runs on it as it runs on SQLite.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "pg-test-server.sh"


@dataclass
class PgServer:
    socket_dir: Path
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        return f"postgresql://dgm@/{database}?host={self.socket_dir}"

    def new_database(self, owner: str = "dgm") -> str:
        """A new empty database owned by `owner`; its URL (no password: the test server trusts
        its socket, except for the role 'dgm_password')."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {owner} STRATEGY FILE_COPY")
        return self.url(name).replace("//dgm@", f"//{owner}@")

    def sql(self, statement: str) -> None:
        """Run one statement as the server's superuser (roles, grants)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(statement)

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop", str(self.socket_dir)], check=False, capture_output=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def start_server() -> PgServer:
    """Raises: RuntimeError with the script's own words when the server cannot start."""
    # a short path: a unix socket's path is limited to about 100 bytes
    socket_dir = Path(tempfile.mkdtemp(prefix="dgm-pg-", dir="/tmp"))
    proc = subprocess.run([str(SCRIPT), "start", str(socket_dir)], capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(socket_dir, ignore_errors=True)
        raise RuntimeError(f"cannot start the test PostgreSQL server: {proc.stderr.strip() or proc.stdout.strip()}")
    return PgServer(socket_dir)
