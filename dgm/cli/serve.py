"""`dgm serve`: a local web view of a run, on 127.0.0.1 with a random access token.

Needs the optional `dgm[web]` packages (Starlette, Jinja2, Pygments, uvicorn), imported only here.
"""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from dgm.cli.common import RunOption, console, resolve_run
from dgm.errors import DgmError

app = typer.Typer(add_completion=False, help="Serve a local web view of a run: lineage, children, review queue, progress.")

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    run: RunOption = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: a free one, chosen at random).")] = 0,
    host: Annotated[str, typer.Option(help="Address to bind. Anything but loopback exposes the run to your network.")] = "127.0.0.1",
) -> None:
    """Serve the run in your browser; open the printed URL (it carries the access token)."""
    run_dir = resolve_run(run)
    try:
        import uvicorn

        from dgm.web.app import create_app
        from dgm.web.auth import Access
    except ImportError as exc:
        raise DgmError(f"dgm serve needs the web extra ({exc.name} is missing): pip install 'dgm[web]'") from exc
    out = console(stderr=True)
    if host not in LOOPBACK:
        out.print(
            f"[bold red]warning:[/] binding {host}: anyone who can reach this address and learns the URL's token "
            "can read this run and record verdicts. Use the default 127.0.0.1 unless you mean it."
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    except OSError as exc:
        raise DgmError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    bound = sock.getsockname()[1]
    access = Access.new()
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/?token={access.token}"
    out.print(f"Serving {run_dir} at\n  {url}\nCtrl-C stops.")
    print(f"URL {url}", flush=True)  # on stdout too, for scripts and tests
    server = uvicorn.Server(uvicorn.Config(create_app(run_dir, access), log_level="warning", lifespan="off"))
    server.run(sockets=[sock])
