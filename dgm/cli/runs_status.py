"""`dgm status`: what a run's daemon is doing, from another terminal."""

from __future__ import annotations

import dataclasses

import typer

from dgm.cli.common import JsonOption, RunOption, console, print_json, resolve_run
from dgm.config import load_config

app = typer.Typer(add_completion=False, help="What is in flight, best score and spend of a run.")


@app.command()
def status(run: RunOption = None, json_output: JsonOption = False) -> None:
    """Show children in flight, the best agent, spend against budget and recent events."""
    run_dir = resolve_run(run)
    config = load_config(run_dir / "run.toml")
    from dgm.archive import Archive

    from dgm.loop.lock import running_daemon
    from dgm.loop.progress import render_snapshot, take_snapshot

    pid = running_daemon(run_dir)
    note = f"daemon running (pid {pid})" if pid else "no daemon running: 'dgm run' starts or resumes it"
    with Archive.open(run_dir, readonly=True) as store:
        snap = take_snapshot(store, config, note=note)
    if json_output:
        print_json(dataclasses.asdict(snap))
    else:
        console().print(render_snapshot(snap))
