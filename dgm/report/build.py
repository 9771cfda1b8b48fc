"""Putting the report together: snapshot, figures, diff pages, the HTML page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dgm.report.data import ReportData, RunFacts, collect
from dgm.report.html import TopRow, agent_section, diff_page, report_page, write_text
from dgm.report.plots import Figure, render_figures
from dgm.review.flags import flag_diff

if TYPE_CHECKING:
    from dgm.archive.queries import Queries
    from dgm.archive.scores import SuiteScore


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    figures: list[Figure]
    diffs: list[Path] = field(default_factory=list)
    """The .diff and .html file of each top agent."""
    lineage: list[tuple[str, list[SuiteScore]]] = field(default_factory=list)
    """The best path, seed first, each agent with its score per suite and polyglot language."""

    def all(self) -> list[Path]:
        return [self.html] + [p for f in self.figures for p in (f.png, f.svg)] + self.diffs


def write_report(data: ReportData, diffs: dict[str, str], out_dir: Path, packets: dict[str, Any] | None = None) -> ReportFiles:
    """Write the report of a snapshot; `diffs` maps each top agent to its diff against its parent,
    `packets` (when given) to its review packet (diagnosis, scores, reviews, flags judged against
    the parent)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = render_figures(data, out_dir)
    by_id, rows, written = data.by_id(), [], []
    for agent_id, diff in diffs.items():
        agent = by_id[agent_id]
        packet = (packets or {}).get(agent_id)
        if packet is not None:
            flags = packet.flags
        else:
            flags = flag_diff(diff) if agent.parent_id else []  # a seed is our code, not a change to judge
        raw = write_text(out_dir / "diffs" / f"{agent_id}.diff", diff)
        page = write_text(out_dir / "diffs" / f"{agent_id}.html", diff_page(agent, diff, flags, "../index.html", packet, data.dry_run))
        written += [raw, page]
        rows.append(TopRow(agent, f"diffs/{page.name}", f"diffs/{raw.name}", len(flags), agent_section(agent, diff, flags, packet)))
    html = write_text(out_dir / "index.html", report_page(data, figures, rows))
    return ReportFiles(html, figures, written, [(a, data.suites.get(a, [])) for a in data.best_path()])


def build_report(archive: Queries, out_dir: Path, run_name: str = "", top: int = 20, run: RunFacts | None = None) -> ReportFiles:
    """The whole report of an open archive into `out_dir` (index.html, PNG+SVG, diffs/)."""
    data = collect(archive, run_name)
    data.run = run
    diffs = {a.id: diff_or_note(archive, a.id) for a in data.top(top)}
    return write_report(data, diffs, out_dir, {a: p for a in diffs if (p := packet_or_none(archive, a)) is not None})


def packet_or_none(archive: Queries, agent_id: str) -> Any:
    """The agent's review packet, or None when git lacks a commit it needs."""
    from dgm.archive import ArchiveConsistencyError

    from dgm.review.queue import load_packet

    try:
        return load_packet(archive, agent_id)
    except ArchiveConsistencyError:
        return None


def diff_or_note(archive: Queries, agent_id: str) -> str:
    """The agent's diff; when git lacks its commit, a note saying so (the rest of the report
    is still worth having)."""
    from dgm.archive import ArchiveConsistencyError

    try:
        return archive.diff(agent_id)
    except ArchiveConsistencyError as exc:
        return f"# diff unavailable: {exc}\n"
