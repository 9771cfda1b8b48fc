"""Tree layouts and the data series behind the plots."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from dgm.report.data import AgentPoint, CallPoint, ReportData, score_curve
from dgm.report.layout import layered_layout, parent_indices, path_to_root, radial_layout
from dgm.report.plots import spend_series


def point(i: int, parent: int | None, iteration: int, score: float | None, status: str = "evaluated") -> AgentPoint:
    return AgentPoint(f"a{i}", None if parent is None else f"a{parent}", iteration, status, score, "2026-01-01T00:00:00+00:00")


def test_layered_layout_puts_parents_above_and_between_their_children() -> None:
    #        a1
    #     a2     a3
    #   a4  a5
    parents = parent_indices(["a1", "a2", "a3", "a4", "a5"], [None, "a1", "a1", "a2", "a2"])
    layout = layered_layout(parents)
    assert list(layout.depth) == [0, 1, 1, 2, 2]
    assert list(layout.x[[3, 4, 2]]) == [0.0, 1.0, 2.0]  # leaves in depth-first order
    assert layout.x[1] == 0.5 and layout.x[0] == (0.5 + 2.0) / 2
    assert sorted(map(tuple, layout.edges)) == [(0, 1), (0, 2), (1, 3), (1, 4)]
    assert path_to_root(parents, 4) == [0, 1, 4]


def test_radial_layout_of_a_deep_chain_does_not_recurse() -> None:
    n = 5000  # one long lineage: recursion would overflow
    parents = np.arange(-1, n - 1)
    layout = radial_layout(parents)
    radius = np.hypot(layout.x, layout.y)
    assert np.allclose(radius, np.arange(n))
    assert layout.segments().shape == (n - 1, 2, 2)


def test_score_curve_counts_only_scored_agents_up_to_each_iteration() -> None:
    agents = [point(1, None, 0, 0.2), point(2, 1, 1, None, "invalid"), point(3, 1, 2, 0.6), point(4, 3, 2, 0.4), point(5, 3, 3, 0.1)]
    curve = score_curve(agents)
    assert list(curve.iterations) == [0, 1, 2, 3]
    assert list(curve.best) == [0.2, 0.2, 0.6, 0.6]
    assert np.allclose(curve.median, [0.2, 0.2, 0.4, 0.3])


def test_best_path_and_spend_series() -> None:
    data = ReportData("r", [point(1, None, 0, 0.2), point(2, 1, 1, 0.9), point(3, 2, 2, None, "invalid"), point(4, 1, 2, 0.5)])
    assert data.best_path() == ["a1", "a2"]
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    data.calls = [CallPoint(t0 + timedelta(minutes=i), purpose, cost) for i, (purpose, cost) in enumerate([("diagnose", 1.0), ("solve", 0.5), ("self-modify", 2.0), ("solve", 0.25)])]
    times, series = spend_series(data, points=10)
    assert times[0] == t0 and times[-1] == t0 + timedelta(minutes=3)
    assert {p: s[-1] for p, s in series.items()} == {"diagnose": 1.0, "self-modify": 2.0, "solve": 0.75}
    assert all(np.all(np.diff(s) >= 0) for s in series.values())


def test_report_best_prefers_depth_and_the_page_shows_intervals() -> None:
    from dgm.report.html import report_page

    lucky = AgentPoint("a2", "a1", 1, "evaluated", 1.0, "2026-01-01T00:00:00+00:00", passed=3, tasks=3)
    solid = AgentPoint("a1", None, 0, "evaluated", 0.6, "2026-01-01T00:00:00+00:00", passed=30, tasks=50)
    data = ReportData("r", [solid, lucky])
    assert data.best() is solid
    page = report_page(data, [], [])
    assert "0.600 [0.46, 0.72] n=50 (a1)" in page


def test_spend_axis_uses_one_time_format_per_span() -> None:
    """Issue 14: ticks read '05:17:50, 05:18:10', never a mix like '50, 05:18, 10'."""
    from datetime import timedelta

    from dgm.report.plots import time_format

    assert time_format(timedelta(seconds=50)) == "%H:%M:%S"
    assert time_format(timedelta(hours=5)) == "%H:%M"
    assert time_format(timedelta(days=3)) == "%b %d %H:%M"


def test_median_is_drawn_over_the_best_line() -> None:
    """Issue 14: with one scored agent best and median coincide; the median must still show."""
    from dgm.report.data import AgentPoint, ReportData
    from dgm.report.plots import _pyplot, plot_scores

    plt = _pyplot()
    fig, ax = plt.subplots()
    plot_scores(ReportData("r", [AgentPoint("a1", None, 0, "evaluated", 0.4, "t"), AgentPoint("a2", "a1", 1, "invalid", None, "t")]), ax)
    lines = {line.get_label(): line for line in ax.get_lines()}
    best, median = lines["best in archive"], lines["median in archive"]
    assert median.get_zorder() > best.get_zorder() and median.get_linestyle() != "-" and best.get_linewidth() > median.get_linewidth()
    plt.close(fig)
