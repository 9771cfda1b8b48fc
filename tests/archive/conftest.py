"""Fixtures: a small real family of agents (SQLite + git in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest
from archive_family import Family, build_family


@pytest.fixture
def family(tmp_path: Path) -> Family:
    return build_family(tmp_path)
