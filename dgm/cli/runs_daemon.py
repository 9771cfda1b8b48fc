"""`dgm run`: the evolution daemon, with live progress; resumes whatever a crash left."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from dgm.cli.common import RunOption, console, resolve_run
from dgm.config import load_config
from dgm.llm.local import banner as local_banner

app = typer.Typer(add_completion=False, help="Run or resume the evolution daemon until a stop condition.")

DRY_RUN_BANNER = (
    "DRY RUN: no model is configured, so the scripted offline model answers every LLM call. "
    "Every part of the machine runs for real, but agents do not improve. "
    "A run's model is fixed when it is created: for a real run, create one with "
    "'dgm init --model M' (or DGM_MODEL=M) and the provider's key in the environment."
)


@app.command()
def run(
    run: RunOption = None,
    iterations: Annotated[int, typer.Option(min=0, help="Start at most this many children in this invocation (0: no limit).")] = 0,
    max_usd: Annotated[float, typer.Option(min=0.0, help="Stop when the run has spent this many USD (0: the config's budget).")] = 0.0,
    max_hours: Annotated[float, typer.Option(min=0.0, help="Stop after this much wall time (0: the config's limit).")] = 0.0,
    executor: Annotated[str, typer.Option("--executor", help="Where sandboxes run: local or ray (default: the config's).")] = "",
    ray_address: Annotated[str, typer.Option("--ray-address", help="With ray: auto, host:port or ray://host:10001 (empty: a Ray of this machine).")] = "",
) -> None:
    """Run iterations until a stop condition (config or options); resume after a crash."""
    from dgm.loop.daemon import Daemon, StopConditions
    from dgm.loop.progress import render_snapshot, take_snapshot
    from dgm.loop.run import hard_stop, open_run

    run_dir = resolve_run(run)
    config = load_config(run_dir / "run.toml")
    if executor or ray_address:
        config.executor.kind = executor or "ray"
        config.executor.address = ray_address or config.executor.address
        config.validate()
    out = console()
    stop = StopConditions(
        max_iterations=config.loop.max_iterations,
        more_iterations=iterations,
        max_usd=max_usd or config.budget.usd_total,
        max_seconds=(max_hours or config.loop.max_wall_hours) * 3600,
    )
    try:
        with open_run(run_dir, config) as ctx:
            banner = local_banner(config.model.name) or (DRY_RUN_BANNER if config.model.is_dry_run else "")
            if banner:
                out.print(f"[bold yellow]{banner}[/]")
            if os.environ.get("DGM_MODEL") and os.environ["DGM_MODEL"] != config.model.name:
                fixed = config.model.name or "none: a dry run"
                out.print(f"note: DGM_MODEL is ignored: this run's model was fixed by 'dgm init' ({fixed}); start a new run to use it")
            from dgm.loop.daemon import child_jobs

            cap = cap_note(config.loop.max_iterations, len(child_jobs(ctx.archive)), iterations)
            if cap:
                out.print(f"[yellow]{cap}[/]")
            out.print(f"run {config.name}: sandbox backend {ctx.backend.name}, model {config.model.name or 'scripted (dry run)'}")
            daemon = Daemon(ctx, stop)
            daemon.install_signal_handlers()
            try:
                run_with_display(daemon, lambda: render_snapshot(take_snapshot(ctx.archive, config, note=daemon.state.stopping)), out)
                snap = take_snapshot(ctx.archive, config, note=daemon.state.stopping)
            except KeyboardInterrupt:
                stopped = hard_stop(ctx.archive, ctx.backend, config.name)
                if stopped.problem:
                    out.print(f"stopped at once, but {stopped.problem}")
                else:
                    out.print(f"stopped at once: removed {stopped.removed} sandbox(es); 'dgm run' resumes the {stopped.in_flight} job(s) in flight")
                out.file.flush()
                os._exit(130)  # workers are blocked in sandboxes that no longer exist: never join them
    except KeyboardInterrupt:  # a second signal while the drained run closes: nothing is in flight
        out.print("stopped at once while closing the run: nothing was in flight")
        out.file.flush()
        os._exit(130)
    out.print(render_snapshot(snap))
    reason = daemon.state.stopping.split(":")[0] if daemon.state.stopping.startswith("draining") else daemon.state.stopping
    out.print(f"stopped: {'drained after a stop signal' if reason == 'draining' else reason or 'nothing left to do'}")
    if banner:
        out.print(f"[bold yellow]{banner}[/]")
    if daemon.state.backend_gone:
        raise typer.Exit(2)


def cap_note(max_iterations: int, children: int, more: int) -> str:
    """What to tell a user whose --iterations the run's own cap will cut short ('' if nothing)."""
    if not max_iterations or (more and children + more <= max_iterations):
        return ""
    left = max(max_iterations - children, 0)
    if more == 0 and left > 0:
        return ""
    return (
        f"note: this run stops at max_iterations = {max_iterations} (its run.toml, [loop]); {children} child(ren) "
        f"exist, so {'none' if left == 0 else f'at most {left}'} more will be made. Raise it there (0: no limit) for more."
    )


def run_with_display(daemon, render, out) -> None:
    """Live progress on a terminal; on a pipe, one line per event instead of redrawing."""
    import threading

    from dgm.loop.iteration import STEP_EVENTS

    if not out.is_terminal:
        seen, lock = [0], threading.Lock()

        def print_new_events() -> None:  # called from worker threads too
            with lock:
                for event in daemon.ctx.archive.events(limit=50, since_id=seen[0]):
                    seen[0] = max(seen[0], event.id)
                    if event.kind not in STEP_EVENTS:
                        out.print(f"{str(event.created_at)[11:19]} {event.kind}: {event.message}")

        daemon.ctx.on_change = print_new_events
        daemon.run()
        print_new_events()
        return

    from rich.live import Live

    with Live(render(), console=out, refresh_per_second=2, transient=False) as live:
        stop = threading.Event()

        def refresh() -> None:
            while not stop.wait(1.0):
                live.update(render())

        thread = threading.Thread(target=refresh, daemon=True)
        thread.start()
        try:
            daemon.run()
        finally:
            stop.set()
            live.update(render())
