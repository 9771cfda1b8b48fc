import shutil
from pathlib import Path

import pytest

AGENTS = Path(__file__).parent / "agents"


@pytest.fixture(scope="session")
def backend():
    import sandbox

    return sandbox.open_backend("docker")


def make_agent(dest: Path, script: str, **files: str) -> Path:
    """An agent directory: agents/<script> as agent.py plus extra files."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(AGENTS / script, dest / "agent.py")
    for name, text in files.items():
        (dest / name.replace("_json", ".json").replace("_txt", ".txt")).write_text(text)
    return dest
