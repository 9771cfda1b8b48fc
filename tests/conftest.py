"""Fixtures shared across the test packages: a private Docker daemon, the test PostgreSQL server
(each started on first use only)."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.private_docker import PrivateDocker


@pytest.fixture(scope="session")
def private_docker() -> Iterator[PrivateDocker]:
    """A Docker daemon of these tests' own (DOCKER_HOST=private_docker.host), holding the
    sandbox image, that a test may stop and start; stopped at the end of the session."""
    from dgm.sandbox.layout import DEFAULT_IMAGE
    from tests.sandbox.conftest import ensure_built

    ensure_built("docker")
    daemon = PrivateDocker()
    daemon.start()
    try:
        daemon.load_image(DEFAULT_IMAGE)
        yield daemon
    finally:
        if daemon.proc is None:  # a test left it stopped
            daemon.start()
        daemon.stop()


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
