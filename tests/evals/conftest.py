import shutil
from pathlib import Path

import pytest

AGENTS = Path(__file__).parent / "agents"


@pytest.fixture(scope="session")
def backend():
    from dgm import sandbox

    return sandbox.open_backend("docker")


@pytest.fixture
def make_agent(tmp_path):
    """make_agent(name, script, {file: text}) -> an agent directory: agents/<script> as
    agent.py plus extra files (answers.json for the oracle, mode.txt for hostile agents)."""

    def make(name: str, script: str, files: dict[str, str] | None = None) -> Path:
        dest = tmp_path / "agents" / name
        dest.mkdir(parents=True)
        shutil.copy(AGENTS / script, dest / "agent.py")
        for file, text in (files or {}).items():
            (dest / file).write_text(text)
        return dest

    return make


def oracle_answers(pairs) -> str:
    """answers.json text from (key bytes, {path: content}) pairs."""
    import hashlib
    import json

    return json.dumps({hashlib.sha256(key).hexdigest(): files for key, files in pairs})
