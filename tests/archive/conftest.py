"""Fixtures: a small real family of agents (git in tmp_path), and the database under it.

Every test here runs twice, on SQLite (archive.db) and on a fresh PostgreSQL database (the
session's test server): one contract, two databases. A test marked `sqlite_only` (with its
reason) runs on SQLite alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import archive_family
import pytest
from archive_family import Family, build_family

DATABASES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("database", ["sqlite"] if only_sqlite else list(DATABASES), indirect=True)


@pytest.fixture(autouse=True)
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The database this test's runs are made on (`archive_family.make_run` follows it)."""
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")  # started on first use only
        monkeypatch.setattr(archive_family, "new_store_url", server.new_database)
    yield request.param


@pytest.fixture
def family(tmp_path: Path) -> Family:
    return build_family(tmp_path)
