"""`dgm cluster`: the Ray cluster's nodes, their sandbox slots and what each runs."""

from __future__ import annotations

from typing import Annotated

import typer

from dgm.cli.common import JsonOption, console, print_json

app = typer.Typer(add_completion=False, help="Show the cluster's nodes, their sandbox slots and what each runs.")


@app.command()
def cluster(
    address: Annotated[str, typer.Option("--address", help="The cluster: auto, host:port or ray://host:10001.")] = "auto",
    as_json: JsonOption = False,
) -> None:
    """The nodes of the cluster: alive or not, sandbox slots, backend, sessions running."""
    from dataclasses import asdict

    from dgm.cluster.connect import connect, disconnect
    from dgm.cluster.worker import cluster_view

    connect(address)
    try:
        views = cluster_view()
    finally:
        disconnect()
    if as_json:
        print_json([asdict(v) for v in views])
        return
    out = console()
    for v in views:
        what = ", ".join(sorted(f"{r.get('purpose', '?')}:{r.get('task', r.get('dgm.run', ''))}" for r in v.running)) or "idle"
        state = "alive" if v.alive else "dead"
        slots = f"{v.slots} slot(s)" if v.slots else "no sandbox slots"
        silent = f"  ({v.silent_hosts} run host(s) did not answer)" if v.silent_hosts else ""
        out.print(f"{v.node_id[:12]}  {v.host}  {state}  {slots}  {v.backend or '-'}  {len(v.running)} running: {what}{silent}")
