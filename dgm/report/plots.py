"""The report's figures, drawn with matplotlib's Agg backend (imported lazily: only
`dgm report` pays for matplotlib).

Each `plot_*` draws on an Axes from a ReportData snapshot; `render_figures` writes each as PNG
and SVG. Sizes matter: the lineage switches to a radial layout with tiny nodes and no labels
(except along the best path) once the archive is too big for a readable layered tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from dgm.archive.schema import PURPOSES

from dgm.report.data import ReportData, score_curve
from dgm.report.layout import layered_layout, parent_indices, path_to_root, radial_layout

LAYERED_MAX = 60
"""Archives up to this many agents get the layered tree with a label per node."""
BEST_COLOR = "#d62728"
REJECT_COLOR = "#d62728"
INVALID_COLOR = "#9e9e9e"
PURPOSE_COLORS = {"diagnose": "#4c72b0", "self-modify": "#dd8452", "solve": "#55a868", "other": "#8172b3"}


@dataclass(frozen=True)
class Figure:
    name: str
    """File stem: scores, lineage, spend."""
    title: str
    png: Path
    svg: Path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _empty(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_scores(data: ReportData, ax: Any) -> None:
    """Best and median score of the archive after each iteration, each child's score as a dot."""
    curve = score_curve(data.agents)
    if not np.isfinite(curve.best).any():
        _empty(ax, "no agent has been scored yet")
        return
    scored = [a for a in data.agents if a.scored]
    n = len(scored)
    ax.scatter(
        [a.iteration for a in scored], [a.score for a in scored],
        s=18 if n < 200 else 5, alpha=0.55 if n < 200 else 0.25, color="#7f7f7f", linewidths=0, label="an agent's score", zorder=1,
    )
    ax.step(curve.iterations, curve.best, where="post", color=BEST_COLOR, lw=2.2, label="best in archive", zorder=3)
    ax.step(curve.iterations, curve.median, where="post", color="#1f77b4", lw=1.8, label="median in archive", zorder=2)
    last = np.nanmax(curve.best)
    ax.annotate(f"best {last:.3f}", (curve.iterations[-1], curve.best[-1]), textcoords="offset points", xytext=(-4, 6), ha="right", color=BEST_COLOR, fontsize=9)
    ax.set_xlabel("iteration")
    ax.set_ylabel("score")
    top = max(1.0, float(np.nanmax([a.score for a in scored])))
    ax.set_ylim(-0.02, top + 0.05)
    ax.set_xlim(curve.iterations[0] - 0.5, curve.iterations[-1] + 0.5)
    ax.grid(axis="y", alpha=0.3)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations are whole numbers
    ax.legend(loc="best", frameon=False, fontsize=9)
    ax.set_title("Score of the archive over iterations", loc="left")


def plot_lineage(data: ReportData, ax: Any, fig: Any) -> None:
    """The tree of agents coloured by score, the path to the best agent drawn over it,
    rejected agents crossed out, invalid ones as grey rings."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    agents = data.agents
    if not agents:
        _empty(ax, "the archive is empty")
        return
    n = len(agents)
    small = n <= LAYERED_MAX
    parents = parent_indices([a.id for a in agents], [a.parent_id for a in agents])
    layout = layered_layout(parents) if small else radial_layout(parents)
    x, y = layout.x, layout.y
    ax.add_collection(LineCollection(layout.segments(), colors="#b0b0b0", linewidths=1.0 if small else 0.35, zorder=1))

    best = data.best()
    index = {a.id: i for i, a in enumerate(agents)}
    path = path_to_root(parents, index[best.id]) if best else []
    if len(path) > 1:
        ax.plot(x[path], y[path], color=BEST_COLOR, lw=3.0 if small else 2.0, zorder=4, solid_capstyle="round")

    score = np.array([a.score if a.scored else np.nan for a in agents], dtype=float)
    invalid = np.array([a.status == "invalid" for a in agents])
    unscored = np.isnan(score) & ~invalid
    rejected = np.array([a.verdict == "reject" for a in agents])
    approved = np.array([a.verdict == "approve" for a in agents])
    size = 260.0 if small else max(3.0, 9000.0 / n)
    ok = ~np.isnan(score)
    points = ax.scatter(x[ok], y[ok], c=score[ok], cmap="viridis", vmin=0.0, vmax=max(1.0, float(np.nanmax(score)) if ok.any() else 1.0),
                        s=size, linewidths=0.6 if small else 0, edgecolors="white", zorder=5)
    ax.scatter(x[invalid], y[invalid], s=size * 0.6, facecolors="none", edgecolors=INVALID_COLOR, linewidths=1.0 if small else 0.4, zorder=5)
    ax.scatter(x[unscored], y[unscored], s=size * 0.6, color="#dddddd", edgecolors="#999999", linewidths=0.5, zorder=5)
    if approved.any() and small:
        ax.scatter(x[approved], y[approved], s=size * 1.9, facecolors="none", edgecolors="#2ca02c", linewidths=1.6, zorder=6)
    ax.scatter(x[rejected], y[rejected], s=size * (1.3 if small else 3.0), marker="x", color=REJECT_COLOR, linewidths=2.0 if small else 0.9, zorder=7)
    if best:
        ax.scatter([x[index[best.id]]], [y[index[best.id]]], s=size * 2.5 if small else 220, marker="*", color="#ffbf00", edgecolors="black", linewidths=0.8, zorder=8)
    _label_lineage(ax, agents, x, y, range(n) if small else _spaced(path, 9), small)

    fig.colorbar(points, ax=ax, fraction=0.035, pad=0.02, label="score")
    handles = [
        Line2D([], [], color=BEST_COLOR, lw=2.5, label="path to the best agent"),
        Line2D([], [], marker="*", ls="", color="#ffbf00", markeredgecolor="black", markersize=11, label="best agent"),
        Line2D([], [], marker="x", ls="", color=REJECT_COLOR, markersize=8, mew=2, label=f"rejected by a reviewer ({int(rejected.sum())})"),
        Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor=INVALID_COLOR, markersize=8, label=f"invalid ({int(invalid.sum())})"),
    ]
    if unscored.any():
        handles.append(Line2D([], [], marker="o", ls="", color="#dddddd", markeredgecolor="#999999", markersize=8, label=f"not scored yet ({int(unscored.sum())})"))
    if small and approved.any():
        handles.append(Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor="#2ca02c", mew=1.6, markersize=11, label="approved"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=3, frameon=False, fontsize=8.5)
    ax.set_aspect("equal" if not small else "auto")
    ax.autoscale_view()
    ax.margins(0.06)
    ax.axis("off")
    layout_name = "" if small else ", radial: seed at the centre, one ring per generation"
    ax.set_title(f"Lineage of {n} agent{'s' if n != 1 else ''}{layout_name}", loc="left")


def _spaced(path: list[int], most: int) -> list[int]:
    """At most `most` nodes of a path, evenly spread, always the first and the last."""
    if len(path) <= most:
        return path
    picks = np.unique(np.linspace(0, len(path) - 1, most).round().astype(int))
    return [path[i] for i in picks]


def _label_lineage(ax: Any, agents: list[Any], x: np.ndarray, y: np.ndarray, which: Any, small: bool) -> None:
    for i in which:
        agent = agents[i]
        score = "-" if agent.score is None else f"{agent.score:.2f}"
        if small:
            ax.annotate(f"{agent.id}\n{score}", (x[i], y[i]), textcoords="offset points", xytext=(0, -16), ha="center", va="top", fontsize=7.5, zorder=9)
        else:
            ax.annotate(
                f"{agent.id} {score}", (x[i], y[i]), textcoords="offset points", xytext=(4, 4), fontsize=7, zorder=9,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
            )


def spend_series(data: ReportData, points: int = 400) -> tuple[list[datetime], dict[str, np.ndarray]]:
    """Cumulative USD by purpose sampled at up to `points` moments (the ledger can hold
    hundreds of thousands of calls; the plot needs a few hundred samples)."""
    calls = sorted(data.calls, key=lambda c: c.created_at)
    if not calls:
        return [], {}
    times = np.array([c.created_at.timestamp() for c in calls])
    grid = np.unique(np.concatenate([np.linspace(times[0], times[-1], points), times[-1:]]))
    purposes = [p for p in PURPOSES if any(c.purpose == p for c in calls)]
    if any(c.purpose not in PURPOSES for c in calls):
        purposes.append("other")
    series = {}
    for purpose in purposes:
        mask = np.array([(c.purpose if c.purpose in PURPOSES else "other") == purpose for c in calls])
        cumulative = np.cumsum(np.where(mask, [c.cost for c in calls], 0.0))
        series[purpose] = cumulative[np.searchsorted(times, grid, side="right") - 1]
    tz = calls[0].created_at.tzinfo
    return [datetime.fromtimestamp(t, tz) for t in grid], series


def plot_spend(data: ReportData, ax: Any) -> None:
    """Cumulative spend over time, stacked by purpose."""
    import matplotlib.dates as mdates

    times, series = spend_series(data)
    if not times:
        _empty(ax, "no LLM calls recorded yet")
        return
    labels = [f"{p} (${series[p][-1]:.2f})" for p in series]
    ax.stackplot(times, *series.values(), labels=labels, colors=[PURPOSE_COLORS[p] for p in series], alpha=0.85)
    ax.set_ylabel("cumulative cost (USD)")
    if (times[-1] - times[0]).total_seconds() < 60:  # a burst: give the axis a readable minute
        middle = times[0] + (times[-1] - times[0]) / 2
        ax.set_xlim(middle - timedelta(seconds=30), middle + timedelta(seconds=30))
    locator = mdates.AutoDateLocator(maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="upper left", frameon=False, fontsize=9, reverse=True)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"LLM spend over time by purpose: ${data.total_cost():.2f} in {len(data.calls):,} calls", loc="left")


def render_figures(data: ReportData, out_dir: Path) -> list[Figure]:
    """Write scores, lineage and spend as PNG and SVG into `out_dir`."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    big = len(data.agents) > LAYERED_MAX
    specs = [
        ("scores", "Score over iterations", (9, 4.8)),
        ("lineage", "Lineage", (11, 10.5) if big else (11, 7)),
        ("spend", "Spend over time", (9, 4.8)),
    ]
    figures = []
    for name, title, size in specs:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        if name == "scores":
            plot_scores(data, ax)
        elif name == "lineage":
            plot_lineage(data, ax, fig)
        else:
            plot_spend(data, ax)
        png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
        fig.savefig(png, dpi=110)
        fig.savefig(svg)
        plt.close(fig)
        figures.append(Figure(name, title, png, svg))
    return figures
