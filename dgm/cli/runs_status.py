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
    from dgm.archive.reader import Reader  # the light reader: sqlmodel's import alone would take most of the time

    from dgm.loop.lock import running_daemon
    from dgm.loop.progress import render_snapshot, take_snapshot

    pid = running_daemon(run_dir)
    note = f"daemon running (pid {pid})" if pid else "no daemon running: 'dgm run' starts or resumes it"
    with Reader.open(run_dir) as reader:
        snap = take_snapshot(reader, config, note=note)
    if json_output:
        print_json(status_json(snap, pid))
    else:
        console().print(render_snapshot(snap))


def status_json(snap, pid: int | None) -> dict:
    """The snapshot for scripts: named fields, full timestamps, numbers rounded as people read them."""
    data = dataclasses.asdict(snap)
    data["events"] = [{"time": when, "kind": kind, "message": message} for when, kind, message in snap.events]
    data["daemon_running"] = pid is not None
    data["daemon_pid"] = pid
    data["spend_usd"] = round(snap.spend_usd, 4)
    data["best_score"] = None if snap.best_score is None else round(snap.best_score, 4)
    return data
