"""`dgm run`: the evolution daemon, with live progress; resumes whatever a crash left."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator

import typer

from dgm.cli.common import RunOption, console, resolve_run
from dgm.config import load_config
from dgm.errors import DgmError
from dgm.loop.preflight import check_before_start

app = typer.Typer(add_completion=False, help="Run or resume the evolution daemon until a stop condition.")

DRY_RUN_BANNER = (
    "DRY RUN: no model is configured, so the scripted offline model answers every LLM call. "
    "Every part of the machine runs for real, but agents do not improve. "
    "A run's model is fixed when it is created: for a real run, create one with "
    "'dgm init --model M' (or DGM_MODEL=M) and the provider's key in the environment."
)


class DaemonBusyError(DgmError):
    """Another daemon holds the run's lock."""


@contextmanager
def daemon_lock(run_dir: Path) -> Iterator[None]:
    """One daemon per run: an advisory lock the kernel drops when the process dies, even by
    kill -9, so a crash never leaves the run locked."""
    path = run_dir / "daemon.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise DaemonBusyError(f"another 'dgm run' is working on {run_dir} (pid {handle.read().strip() or '?'})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def running_daemon(run_dir: Path) -> int | None:
    """The pid of the daemon working on the run, or None when none is (its lock is free)."""
    path = run_dir / "daemon.lock"
    if not path.exists():
        return None
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


@app.command()
def run(
    run: RunOption = None,
    iterations: Annotated[int, typer.Option(min=0, help="Start at most this many children in this invocation (0: no limit).")] = 0,
    max_usd: Annotated[float, typer.Option(min=0.0, help="Stop when the run has spent this many USD (0: the config's budget).")] = 0.0,
    max_hours: Annotated[float, typer.Option(min=0.0, help="Stop after this much wall time (0: the config's limit).")] = 0.0,
) -> None:
    """Run iterations until a stop condition (config or options); resume after a crash."""
    from dgm.archive import Archive
    from dgm.sandbox import open_backend

    from dgm.llm import Gateway, make_model
    from dgm.loop.daemon import Daemon, StopConditions
    from dgm.loop.iteration import LoopContext
    from dgm.loop.progress import render_snapshot, take_snapshot

    run_dir = resolve_run(run)
    config = load_config(run_dir / "run.toml")
    out = console()
    stop = StopConditions(
        max_iterations=config.loop.max_iterations,
        more_iterations=iterations,
        max_usd=max_usd or config.budget.usd_total,
        max_seconds=(max_hours or config.loop.max_wall_hours) * 3600,
    )
    check_before_start(config)
    with daemon_lock(run_dir), Archive.open(run_dir) as store:
        backend = open_backend(config.sandbox.backend, image=config.sandbox.image)
        # said only once nothing refuses any more (busy run, no sandbox backend)
        if config.model.is_dry_run:
            out.print(f"[bold yellow]{DRY_RUN_BANNER}[/]")
        if os.environ.get("DGM_MODEL") and os.environ["DGM_MODEL"] != config.model.name:
            fixed = config.model.name or "none: a dry run"
            out.print(f"note: DGM_MODEL is ignored: this run's model was fixed by 'dgm init' ({fixed}); start a new run to use it")
        from dgm.loop.daemon import child_jobs

        cap = cap_note(config.loop.max_iterations, len(child_jobs(store)), iterations)
        if cap:
            out.print(f"[yellow]{cap}[/]")
        out.print(f"run {config.name}: sandbox backend {backend.name}, model {config.model.name or 'scripted (dry run)'}")
        with Gateway(make_model(config.model), config, ledger=store) as gateway:
            ctx = LoopContext(run_dir, config, store, backend, gateway, stage=lambda *a: None)
            daemon = Daemon(ctx, stop)
            daemon.install_signal_handlers()
            try:
                run_with_display(daemon, lambda: render_snapshot(take_snapshot(store, config, note=daemon.state.stopping)), out)
            except KeyboardInterrupt:
                hard_stop(store, backend, config.name, out)
        snap = take_snapshot(store, config, note=daemon.state.stopping)
    out.print(render_snapshot(snap))
    reason = daemon.state.stopping.split(":")[0] if daemon.state.stopping.startswith("draining") else daemon.state.stopping
    out.print(f"stopped: {'drained after a stop signal' if reason == 'draining' else reason or 'nothing left to do'}")
    if config.model.is_dry_run:
        out.print(f"[bold yellow]{DRY_RUN_BANNER}[/]")


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


def hard_stop(store, backend, run_name: str, out) -> None:
    """The second signal: remove this run's sandboxes and leave at once. Jobs in flight stay
    'running' in the archive, and the next 'dgm run' re-queues them; SQLite's transactions
    keep every write whole. Worker threads are blocked in sandboxes that no longer exist, so
    the process ends with os._exit, never by joining them."""
    from dgm.sandbox import SandboxError

    code = 130
    try:
        running = sum(job.state == "running" for job in store.jobs())
        store.log_event("stopped", "stopped at once by a second signal; in-flight children resume on the next 'dgm run'")
        removed = backend.sweep(run_name, include_own=True)
        out.print(f"stopped at once: removed {removed} sandbox(es); 'dgm run' resumes the {running} child(ren) in flight")
    except SandboxError as exc:
        out.print(f"stopped at once, but sandboxes may be left (the next 'dgm run' sweeps them): {exc}")
    except BaseException as exc:  # a third signal, or the archive gone: still leave now
        out.print(f"stopped at once ({type(exc).__name__} during clean-up)")
    finally:
        out.file.flush()
        os._exit(code)


def run_with_display(daemon, render, out) -> None:
    """Live progress on a terminal; on a pipe, one line per event instead of redrawing."""
    import threading

    if not out.is_terminal:
        seen, lock = [0], threading.Lock()

        def print_new_events() -> None:  # called from worker threads too
            with lock:
                for event in daemon.ctx.archive.events(limit=50, since_id=seen[0]):
                    seen[0] = max(seen[0], event.id)
                    if event.kind != "stage":
                        out.print(f"{str(event.created_at)[11:19]} {event.kind}: {event.message}")

        daemon.on_change = print_new_events
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
