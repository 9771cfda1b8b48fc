"""`dgm init`: create a run directory and seed its archive."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Optional

import typer

from dgm.cli.common import RUNS_DIR, console, is_run_dir
from dgm.config import RunConfig, dump_config, load_config
from dgm.errors import ConfigError

app = typer.Typer(add_completion=False, help="Create a run, seeding its archive with the seed agent.")


def seed_dir(name: str) -> Path:
    from dgm import archive

    path = Path(archive.__file__).parent / "seeds" / name
    if not (path / "agent.py").is_file():
        raise ConfigError(f"no seed agent named '{name}' (looked in {path.parent})")
    return path


def create_run(path: Path, config: RunConfig) -> Path:
    """Write run.toml, create the archive and add the seed agent. All or nothing.

    Raises: ConfigError when the path already holds something.
    """
    from dgm.archive import Archive

    if path.exists() and (is_run_dir(path) or any(path.iterdir())):
        raise ConfigError(f"{path} already exists and is not empty; choose another path")
    seed = seed_dir(config.seed_agent)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        (path / "run.toml").write_text(dump_config(config), encoding="utf-8")
        with Archive.create(path) as store:
            agent = store.add_seed(seed, meta={"seed_agent": config.seed_agent})
            store.log_event("init", f"run {config.name} created with seed agent {agent.id}", agent_id=agent.id)
    except BaseException:
        if created:
            shutil.rmtree(path, ignore_errors=True)
        else:
            for child in path.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return path


@app.command()
def init(
    path: Annotated[Optional[Path], typer.Argument(help="Run directory (default: ./runs/<name>).")] = None,
    config_file: Annotated[Optional[Path], typer.Option("--config", help="A run.toml to start from.")] = None,
    name: Annotated[Optional[str], typer.Option(help="The run's name (default: from the config, or the folder).")] = None,
    model: Annotated[Optional[str], typer.Option(envvar="DGM_MODEL", help="A litellm model string; empty for a dry run.")] = None,
    api_base: Annotated[Optional[str], typer.Option(envvar="DGM_API_BASE", help="Base URL of an OpenAI-compatible server (Ollama, vLLM).")] = None,
) -> None:
    """Create a run directory: run.toml, archive.db, agents.git, logs/; seed the archive."""
    config = load_config(config_file) if config_file else RunConfig()
    if name:
        config.name = name
    elif path is not None and not config_file:
        config.name = path.name
    if model is not None:
        config.model.name = model
    if api_base is not None:
        config.model.api_base = api_base
    config.validate()
    from dgm.loop.preflight import check_before_start

    try:
        check_before_start(config)
    except ConfigError as exc:  # a key can be exported later; say so now, create the run anyway
        console(stderr=True).print(f"warning: {exc}")
    target = path or RUNS_DIR / config.name
    create_run(target, config)
    out = console()
    out.print(f"created run [bold]{config.name}[/] at {target}")
    if config.model.is_dry_run:
        out.print("no model configured: 'dgm run' will be a DRY RUN on the scripted model (see README: Models)")
