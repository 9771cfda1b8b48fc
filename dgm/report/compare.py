"""`dgm compare`: several runs side by side, as a table, plots and one HTML page.

Each run is read into a `RunSummary`: its best agent (archive.best's rule) with the tasks
that score rests on and its 95% Wilson interval, counts, spend, wall time, and the best-so-far
curve after each agent in creation order, against iterations, tasks evaluated and USD.

Runs whose configs differ only in name and seed are one group: drawn as one line (the mean
over seeds of the best-so-far score) with a band from the lowest to the highest seed. A group
of one run is drawn with its best score's Wilson interval as the band.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from dgm.archive.best import Ranked, best_of
from dgm.archive.stats import ScoreStat, score_stat
from dgm.report.ledger import parse_time
from dgm.report.plots import Figure

if TYPE_CHECKING:
    from dgm.archive.queries import Queries

AXES = (
    ("iterations", "iteration", "Best-so-far score against iterations"),
    ("tasks", "task evaluations", "Best-so-far score against task evaluations"),
    ("usd", "USD spent", "Best-so-far score against spend (USD)"),
)


@dataclass(frozen=True)
class Step:
    """The run after one more agent (in creation order)."""

    iterations: int
    tasks: int
    usd: float
    best: float
    low: float
    high: float


@dataclass
class RunSummary:
    name: str
    group: str
    """Runs with the same group differ only in name and seed."""
    best_id: str | None
    best: ScoreStat
    children: int
    valid_children: int
    tasks: int
    tokens: int
    usd: float
    wall_seconds: float
    steps: list[Step] = field(default_factory=list)
    dry_run: bool = False
    """Made on the scripted model: its scores say nothing about agents improving."""

    def series(self, axis: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        def column(name: str) -> np.ndarray:
            return np.array([getattr(s, name) for s in self.steps], dtype=float)

        return column(axis), column("best"), column("low"), column("high")


def group_key(config: Any) -> str:
    """The config without what varies between seeds of one setup (name, seed)."""
    from dgm.config import dump_config

    return dump_config(dataclasses.replace(config, name="", seed=0))


def summarize(archive: Queries, name: str, group: str, dry_run: bool = False) -> RunSummary:
    """One run's summary from an open archive (Reader or Archive)."""
    agents = sorted(archive.agents(), key=lambda a: a.seq)
    counts, costs, spend = archive.task_counts(), archive.costs(), archive.spend()
    ranked: list[Ranked] = []
    steps: list[Step] = []
    tasks, usd = 0, 0.0
    for a in agents:
        passed, n = counts.get(a.id, (0, 0))
        tasks += n
        usd += costs.get(a.id, 0.0)
        if a.status == "evaluated" and a.score is not None:
            ranked.append(Ranked(a.id, float(a.score), n, a.seq))
        found = best_of(ranked)
        if found is None:
            steps.append(Step(a.iteration, tasks, usd, np.nan, np.nan, np.nan))
            continue
        fp = counts.get(found.id, (0, 0))[0]
        stat = score_stat(found.score, fp, found.tasks)
        steps.append(Step(a.iteration, tasks, usd, found.score, stat.low if stat.low is not None else found.score,
                          stat.high if stat.high is not None else found.score))
    best = archive.best()
    best_stat = archive.score_stat(best) if best else score_stat(None, 0, 0)
    times = [parse_time(a.created_at) for a in agents]
    for a in agents:
        times += [parse_time(e.finished_at) for e in archive.evaluations(a.id) if e.finished_at]
    children = [a for a in agents if a.origin != "seed"]
    return RunSummary(
        name=name, group=group, best_id=best.id if best else None, best=best_stat,
        children=len(children), valid_children=sum(a.status == "evaluated" for a in children),
        tasks=tasks, tokens=spend.tokens, usd=spend.usd,
        wall_seconds=(max(times) - min(times)).total_seconds() if times else 0.0, steps=steps, dry_run=dry_run,
    )


def group_labels(runs: Sequence[RunSummary]) -> dict[str, str]:
    """A readable label per group: the run name, or the common name of its seeds."""
    labels: dict[str, str] = {}
    for key in dict.fromkeys(r.group for r in runs):
        names = [r.name for r in runs if r.group == key]
        dry = " [dry run]" if any(r.dry_run for r in runs if r.group == key) else ""
        if len(names) == 1:
            labels[key] = names[0] + dry
        else:
            stem = re.sub(r"[-_.]*(seed)?[-_.]*\d+$", "", names[0]) or names[0]
            labels[key] = f"{stem} ({len(names)} seeds){dry}"
    return labels


def _on_grid(xs: np.ndarray, ys: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The step function (last y at or before each grid point; NaN before the first)."""
    idx = np.searchsorted(xs, grid, side="right") - 1
    out = np.where(idx >= 0, ys[np.clip(idx, 0, None)], np.nan)
    return out


def group_curve(runs: Sequence[RunSummary], axis: str, points: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, line, band low, band high) of one group on one axis."""
    if len(runs) == 1:
        return runs[0].series(axis)
    top = max(float(r.series(axis)[0].max()) if r.steps else 0.0 for r in runs)
    grid = np.linspace(0.0, top, points) if axis != "iterations" else np.arange(0, int(top) + 1, dtype=float)
    values = np.array([_on_grid(*r.series(axis)[:2], grid) for r in runs])
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return grid, np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)


def render_plots(runs: Sequence[RunSummary], out_dir: Path) -> list[Figure]:
    from dgm.report.plots import _pyplot

    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = group_labels(runs)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    figures = []
    for axis, xlabel, title in AXES:
        fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
        for i, (key, label) in enumerate(labels.items()):
            members = [r for r in runs if r.group == key]
            x, line, low, high = group_curve(members, axis)
            color = colors[i % len(colors)]
            style = ("-", "--", ":", "-.")[i % 4]  # so lines that coincide (a dry run's zeros) stay visible
            ax.step(x, line, where="post", color=color, lw=2, ls=style, label=label)
            ax.fill_between(x, low, high, step="post", color=color, alpha=0.18, lw=0)
        if axis == "iterations":
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("best score so far")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title + "\nband: 95% Wilson interval (one run) or min-max over seeds", fontsize=10)
        ax.legend(loc="lower right", frameon=False, fontsize=9)
        png, svg = out_dir / f"compare-{axis}.png", out_dir / f"compare-{axis}.svg"
        fig.savefig(png, dpi=110)
        fig.savefig(svg)
        plt.close(fig)
        figures.append(Figure(f"compare-{axis}", title, png, svg))
    return figures


TABLE_COLUMNS = ("run", "best [95% CI] n", "agent", "children", "valid", "tasks", "tokens", "USD", "wall")


def table_rows(runs: Sequence[RunSummary]) -> list[tuple[str, ...]]:
    return [
        (r.name, r.best.text(), r.best_id or "-", str(r.children), str(r.valid_children), f"{r.tasks:,}", compact(r.tokens),
         f"{r.usd:.2f}" if r.usd >= 1 else f"{r.usd:.4f}", wall(r.wall_seconds))
        for r in runs
    ]


def compact(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e4 else str(n)


def wall(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def table_view(runs: Sequence[RunSummary]) -> Any:
    from rich.table import Table

    table = Table(title=f"{len(runs)} run(s) compared", title_justify="left")
    for name in TABLE_COLUMNS:
        table.add_column(name, justify="left" if name in ("run", "agent") else "right", no_wrap=True)
    for row in table_rows(runs):
        table.add_row(*row)
    return table


def compare_json(runs: Sequence[RunSummary]) -> list[dict[str, Any]]:
    return [
        {"run": r.name, "group": group_labels(runs)[r.group], "best_id": r.best_id, **r.best.as_dict(), "children": r.children,
         "valid_children": r.valid_children, "tasks_evaluated": r.tasks, "tokens": r.tokens, "usd": r.usd, "wall_seconds": r.wall_seconds}
        for r in runs
    ]


def compare_page(runs: Sequence[RunSummary], figures: Sequence[Figure]) -> str:
    from dgm.report.html import _image, _page

    head = "".join(f"<th>{escape(c)}</th>" for c in TABLE_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in table_rows(runs))
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    html = (
        f"<h1>dgm compare: {len(runs)} run(s)</h1><p class=\"sub\">generated {escape(generated)}. Scores are pass rates "
        "with the number of tasks they rest on and a 95% Wilson interval; the best agent is the highest score among the "
        "agents evaluated on the most tasks.</p>"
        f"<table><tr>{head}</tr>{body}</table>" + "".join(_image(f) for f in figures)
    )
    return _page("dgm compare", html)
