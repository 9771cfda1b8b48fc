"""`dgm compare RUN [RUN...]`: runs side by side (table, plots, one HTML page)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dgm.cli.common import JsonOption, console, print_json

app = typer.Typer(add_completion=False, help="Compare runs: a table, best-so-far plots and one HTML page.")


@app.command()
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Run directories (several seeds of one setup form one line).")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Where to write the plots and page (default: ./compare).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Best score with its interval, children, tasks, tokens, USD and wall time per run; plots of
    the best-so-far score against iterations, tasks evaluated and USD."""
    from dgm.archive import Reader

    from dgm.cli.common import is_run_dir
    from dgm.config import load_config
    from dgm.errors import ConfigError
    from dgm.report.compare import compare_json, compare_page, group_key, render_plots, summarize, table_view
    from dgm.report.html import write_text

    summaries = []
    for run_dir in runs:
        if not is_run_dir(run_dir):
            raise ConfigError(f"{run_dir} is not a run directory (no run.toml)")
        config = load_config(run_dir / "run.toml")
        with Reader.open(run_dir) as reader:
            summaries.append(summarize(reader, run_dir.name, group_key(config), config.model.is_dry_run))
    out_dir = out if out is not None else Path("compare")
    figures = render_plots(summaries, out_dir)
    page = write_text(out_dir / "index.html", compare_page(summaries, figures))
    if json_output:
        print_json(compare_json(summaries))
        return
    shown = console()
    shown.print(table_view(summaries))
    for figure in figures:
        shown.print(f"  {figure.png}, {figure.svg.name}  {figure.title}")
    shown.print(f"Open {page}")
