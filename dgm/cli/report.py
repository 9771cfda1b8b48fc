"""`dgm report`: write a run's plots (PNG and SVG) and one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dgm.cli.common import RunOption, console, resolve_run

app = typer.Typer(help="Write plots and an HTML report of a run.", add_completion=False, invoke_without_command=True)


@app.callback()
def report(
    run: RunOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Where to write (default: RUN/report).")] = None,
    top: Annotated[int, typer.Option(min=1, help="How many top agents the page lists, each with its diff.")] = 20,
) -> None:
    """Score over iterations, the lineage tree, spend by purpose, and a page with the top agents."""
    from dgm.archive import Reader

    from dgm.report import build_report

    run_dir = resolve_run(run)
    archive = Reader.open(run_dir)
    out_dir = out if out is not None else run_dir / "report"
    files = build_report(archive, out_dir, run_name=run_dir.name, top=max(top, 0))
    out_console = console()
    out_console.print(f"Wrote the report of {run_dir} to {out_dir}/:")
    for figure in files.figures:
        out_console.print(f"  {figure.png.name}, {figure.svg.name}  {figure.title}")
    out_console.print(f"  diffs/  {len(files.diffs) // 2} agent diff(s)")
    out_console.print(f"Open {files.html}")
