"""`dgm worker`: join a Ray cluster as a sandbox node, after a sandbox self-check."""

from __future__ import annotations

from typing import Annotated

import typer

from dgm.cli.common import console

app = typer.Typer(add_completion=False, help="Join a Ray cluster as a sandbox node, after a sandbox self-check.")


@app.command()
def worker(
    address: Annotated[str, typer.Option("--address", help="The Ray head's address (host:6379).")],
    slots: Annotated[int, typer.Option("--slots", min=1, help="Sandboxes this machine runs at once.")] = 2,
    backend: Annotated[str, typer.Option("--backend", help="auto, docker or bwrap.")] = "auto",
    image: Annotated[str, typer.Option("--image", help="The Docker image of the sandbox.")] = "dgm-sandbox:latest",
) -> None:
    """Check this machine's sandbox (building the image if missing), then join the cluster
    advertising SLOTS 'dgm_sandbox' slots. No provider key is needed or passed on."""
    from dgm.cluster.worker import join

    name = join(address, slots, backend, image)
    console().print(f"joined {address}: {slots} sandbox slot(s) on {name}; leave with 'ray stop'")
