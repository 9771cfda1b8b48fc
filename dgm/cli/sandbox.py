"""`dgm sandbox build|check`: build the image and root filesystem; report the isolation in effect."""

from __future__ import annotations

from typing import Annotated

import typer

from dgm.cli.common import console

app = typer.Typer(help="Build the sandbox image; check which isolation is in effect.", no_args_is_help=True)

ImageOption = Annotated[str, typer.Option("--image", help="The Docker image name.")]


@app.command()
def build(
    backend: Annotated[str, typer.Option("--backend", help="docker, bwrap or all.")] = "all",
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when up to date.")] = False,
    method: Annotated[str, typer.Option("--method", help="Docker image: auto, dockerfile or offline.")] = "auto",
    image: ImageOption = "dgm-sandbox:latest",
) -> None:
    """Build the bubblewrap root filesystem and the Docker image (offline when no registry answers)."""
    from dgm.sandbox.base import SandboxError
    from dgm.sandbox.image_build import build_image, build_rootfs

    if backend not in ("docker", "bwrap", "all"):
        raise typer.BadParameter("--backend must be docker, bwrap or all")
    if method not in ("auto", "dockerfile", "offline"):
        raise typer.BadParameter("--method must be auto, dockerfile or offline")
    out = console()
    out.soft_wrap = True
    steps = [("rootfs", lambda: build_rootfs(force=force))] if backend in ("bwrap", "all") else []
    if backend in ("docker", "all"):
        steps.append(("image", lambda: build_image(image, force=force, method=method)))
    failures = []
    for what, step in steps:
        try:
            report = step()
        except SandboxError as exc:
            if backend != "all":
                raise
            failures.append(exc)
            out.print(f"{what}: not built ({exc})")
            continue
        out.print(f"{what}: {report.action} ({report.detail})")
    if len(failures) == len(steps):
        raise failures[0]  # 'all' needs at least one backend ready


@app.command()
def check(
    backend: Annotated[str, typer.Option("--backend", help="auto, docker or bwrap.")] = "auto",
    image: ImageOption = "dgm-sandbox:latest",
) -> None:
    """Say which backend is in effect and run a short isolation self-check (exit 1 on any failure)."""
    from dgm.sandbox import describe_backends, open_backend
    from dgm.sandbox.selfcheck import run_self_check

    out = console()
    out.soft_wrap = True
    for status in describe_backends(image):
        out.print(f"{status.name:7} {'available' if status.usable else 'unavailable'}: {status.detail}")
    chosen = open_backend(backend, image)
    out.print(f"in effect: {chosen.name}")
    results = run_self_check(chosen)
    for result in results:
        mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
        out.print(f"  {mark}  {result.name}: {result.detail}")
    failed = [r for r in results if not r.passed]
    out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)
