"""Session-wide fixtures: the test PostgreSQL server (started on first use only)."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.pg_server import PgServer, start_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    return pg_server.new_database()
