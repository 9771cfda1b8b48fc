"""Pieces every command group shares: locating the run, the --run and --json options, consoles."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from dgm.errors import RunNotFoundError

if TYPE_CHECKING:
    from dgm.archive.queries import Queries

RUNS_DIR = Path("runs")

RunOption = Annotated[
    Optional[Path],
    typer.Option("--run", envvar="DGM_RUN", help="The run directory (default: the only run under ./runs/)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]


def is_run_dir(path: Path) -> bool:
    return (path / "run.toml").is_file()


def resolve_run(run: Path | None) -> Path:
    """The run to act on: --run / DGM_RUN, else the current directory when it is a run, else
    the only run under ./runs/.

    Raises: RunNotFoundError when none is named and ./runs/ holds none, or several.
    """
    if run is not None:
        if not run.exists():
            raise RunNotFoundError(f"{run} does not exist")
        if not is_run_dir(run):
            raise RunNotFoundError(f"{run} is not a run directory (no run.toml); create one with 'dgm init'")
        return run
    if is_run_dir(Path.cwd()):  # standing inside a run directory
        return Path.cwd()
    candidates = sorted(p for p in RUNS_DIR.glob("*") if is_run_dir(p)) if RUNS_DIR.is_dir() else []
    if not candidates:
        raise RunNotFoundError("no run found under ./runs/; create one with 'dgm init' or pass --run PATH")
    if len(candidates) > 1:
        names = ", ".join(str(p) for p in candidates)
        raise RunNotFoundError(f"several runs under ./runs/ ({names}); choose one with --run PATH")
    return candidates[0]


def console(stderr: bool = False) -> Any:
    """A rich console; plain (no colour, no pager) when the stream is not a terminal."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def print_json(data: Any) -> None:
    """JSON on stdout; a reader that closes the pipe early (`| head`) is not an error."""
    try:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:
        import os

        # Python would report the pipe again when it flushes stdout at exit: point it at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())



def resolve_agent(archive: Queries, agent_id: str) -> str:
    """'best' names the best agent; anything else must be an id.

    Raises: archive UnknownAgentError.
    """
    if agent_id == "best":
        from dgm.archive.errors import UnknownAgentError

        best = archive.best()
        if best is None:
            raise UnknownAgentError("no evaluated agent yet, so there is no 'best'")
        return best.id
    return archive.get(agent_id).id
