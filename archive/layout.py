"""Where a run keeps its archive, and the checks made before anything is opened.

Checks come first so that a folder that is not a run, or a run without its git repository,
is reported without creating or touching a single file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dgm.archive.errors import MissingGitRepoError, NotARunError, UnknownAgentError

AGENT_ID_RE = re.compile(r"^[a-z]+[0-9]+$")


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "run.toml"

    @property
    def db(self) -> Path:
        return self.root / "archive.db"

    @property
    def git(self) -> Path:
        return self.root / "agents.git"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def name(self) -> str:
        return self.root.resolve().name

    def default_url(self) -> str:
        return f"sqlite:///{self.db}"

    def check_run(self) -> None:
        """Raises: NotARunError when the folder is missing or holds no run.toml."""
        if not self.root.is_dir():
            raise NotARunError(f"{self.root} is not a run directory (no such folder)")
        if not self.config.is_file():
            raise NotARunError(f"{self.root} is not a run directory (no run.toml)")

    def check_existing(self, needs_db_file: bool = True) -> None:
        """Raises: NotARunError (no run.toml or archive.db), MissingGitRepoError (no agents.git)."""
        self.check_run()
        if needs_db_file and not self.db.is_file():
            raise NotARunError(f"{self.root} has no archive.db; create the run with 'dgm init'")
        if not (self.git / "objects").is_dir() or not (self.git / "HEAD").is_file():
            raise MissingGitRepoError(f"{self.git} is missing or is not a git repository")

    def agent_logs(self, agent_id: str) -> Path:
        """Raises: UnknownAgentError for an id that could not be an agent's (no path tricks)."""
        if not AGENT_ID_RE.match(agent_id):
            raise UnknownAgentError(f"no agent '{agent_id}' in {self.root}")
        return self.logs / agent_id
