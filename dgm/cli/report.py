"""`dgm report`: write a run's plots (PNG and SVG) and one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dgm.cli.common import JsonOption, RunOption, console, print_json, resolve_run

app = typer.Typer(help="Write plots and an HTML report of a run.", add_completion=False)


@app.command()
def report(
    run: RunOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Where to write (default: RUN/report).")] = None,
    top: Annotated[int, typer.Option(min=1, help="How many top agents the page lists, each with its diff.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """Score over iterations, the lineage tree, spend by purpose, and a page with the top agents."""
    from dgm.archive import Reader

    from dgm.config import load_config
    from dgm.report import build_report
    from dgm.report.data import RunFacts

    run_dir = resolve_run(run)
    config = load_config(run_dir / "run.toml")
    facts = RunFacts(config.model.name or "scripted (dry run)", config.model.is_dry_run, (run_dir / "run.toml").read_text())
    archive = Reader.open(run_dir)
    out_dir = out if out is not None else run_dir / "report"
    files = build_report(archive, out_dir, run_name=run_dir.name, top=max(top, 0), run=facts)
    if json_output:
        from dgm.archive.scores import breakdown_json

        print_json({
            "html": str(files.html), "figures": [{"name": f.name, "png": str(f.png), "svg": str(f.svg)} for f in files.figures],
            "diffs": [str(p) for p in files.diffs], "dry_run": facts.dry_run,
            "best_lineage": [{"agent": agent, "breakdown": breakdown_json(scores)} for agent, scores in files.lineage],
        })
        return
    out_console = console()
    out_console.print(f"Wrote the report of {run_dir} to {out_dir}/:")
    for figure in files.figures:
        out_console.print(f"  {figure.png.name}, {figure.svg.name}  {figure.title}")
    out_console.print(f"  diffs/  {len(files.diffs) // 2} agent diff(s)")
    if facts.dry_run:
        out_console.print("This was a dry run: the report says so on every page and plot, and its prices are made up.")
    out_console.print(f"Open {files.html}")
