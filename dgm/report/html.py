"""The report's HTML: one self-contained page (images inlined as base64 PNG, inline CSS, no
scripts, no external assets) holding the run's model and config and, for each top agent, its
diagnosis, scores against the parent, reviews, flags and diff (folded); plus the same agent
section as a page of its own and a raw .diff, for sharing one agent.

Every string that comes from the archive (ids, notes, diffs: text an LLM wrote) is escaped.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from dgm.report.data import AgentPoint, ReportData
from dgm.report.plots import Figure
from dgm.review.flags import Flag

if TYPE_CHECKING:
    from dgm.archive.scores import SuiteScore
    from dgm.archive.stats import ScoreStat

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } .sub { color: #666; margin-top: 0; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; margin: 1.2em 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
.card b { display: block; font-size: 1.4em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 0.35em 0.6em; text-align: left; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.approve { color: #1a7f37; font-weight: 600; } .reject { color: #c62828; font-weight: 600; }
.flags { color: #c62828; }
pre.diff { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.85em; background: #fafafa; border: 1px solid #eee; padding: 0.8em; overflow-x: auto; }
pre.diff span { display: block; white-space: pre; }
.dry { background: #fff3c4; border: 1px solid #e6c65a; padding: 0.5em 1em; font-weight: 600; color: #6b4e00; }
details.agent { border: 1px solid #e5e5e5; border-radius: 6px; padding: 0.4em 0.8em; margin: 0.5em 0; }
details.agent summary { cursor: pointer; font-weight: 600; }
pre.text { white-space: pre-wrap; background: #fafafa; border: 1px solid #eee; padding: 0.6em; }
td.num small { color: #666; }
.add { background: #e6ffec; } .del { background: #ffebe9; } .hunk { color: #6f42c1; } .file { font-weight: 700; }
"""


@dataclass(frozen=True)
class TopRow:
    agent: AgentPoint
    diff_html: str
    """Path of the diff page, relative to the report page."""
    diff_raw: str
    flags: int
    section: str = ""
    """The agent's section (agent_section), inlined in the report page."""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(title)}</title>"
        f"<style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def dry_run_banner(dry_run: bool) -> str:
    from dgm.report.data import DRY_RUN_NOTE

    return f'<p class="dry" id="dry-run">{escape(DRY_RUN_NOTE)}</p>' if dry_run else ""


def _diff_lines(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        css = "file" if line.startswith(("diff --git", "+++ ", "--- ")) else "hunk" if line.startswith("@@") else "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        lines.append(f'<span class="{css}">{escape(line) or " "}</span>' if css else f"<span>{escape(line) or ' '}</span>")
    return "".join(lines) or "(empty diff)"


def agent_section(agent: AgentPoint, diff: str, flags: Sequence[Flag], packet: Any = None) -> str:
    """Diagnosis, scores against the parent, reviews, flags and diff of one agent (HTML, escaped).
    `packet` is the review package's ReviewPacket, when the archive could give one."""
    parts = []
    if packet is not None:
        parts.append(f'<h3>Diagnosis</h3><pre class="text">{escape(packet.diagnosis or "(none recorded)")}</pre>')
        if packet.scores:
            rows = "".join(
                f"<tr><td>{escape(r.suite)}</td><td class=\"num\">{r.stage + 1}</td><td class=\"num\">{_score(r.child)}</td>"
                f"<td class=\"num\">{_score(r.parent)}</td><td class=\"num\">{'' if r.delta is None else f'{r.delta:+.3f}'}</td></tr>"
                for r in packet.scores
            )
            parts.append(f"<h3>Scores against the parent</h3><table><tr><th>suite</th><th>stage</th><th>{escape(agent.id)}</th>"
                         f"<th>{escape(agent.parent_id or 'parent')}</th><th>change</th></tr>{rows}</table>")
        if packet.reviews:
            rows = "".join(
                f"<tr><td>{escape(r.created_at[:19])}</td><td>{_verdict(r.verdict) if r.verdict != 'note' else 'note'}</td>"
                f"<td>{escape(f'{r.file}:{r.line}: ' if getattr(r, 'file', None) else '')}{escape(r.note)}</td></tr>"
                for r in packet.reviews
            )
            parts.append(f"<h3>Reviews</h3><table><tr><th>when</th><th>verdict</th><th>note</th></tr>{rows}</table>")
        else:
            parts.append("<p>No reviews yet.</p>")
    flag_items = "".join(
        f"<li><b>{escape(f.kind)}</b> ({escape(f.severity)}) {escape(f.location())}: {escape(f.message)}</li>" for f in flags
    )
    parts.append(f'<h3 class="flags">{len(flags)} flag(s)</h3><ul class="flags">{flag_items}</ul>' if flags else "<p>No flags.</p>")
    parts.append(f'<h3>Diff against the parent</h3><pre class="diff">{_diff_lines(diff)}</pre>')
    return "".join(parts)


def diff_page(agent: AgentPoint, diff: str, flags: Sequence[Flag], back: str, packet: Any = None, dry_run: bool = False) -> str:
    """One agent's page: its section (diagnosis, scores, reviews, flags, diff)."""
    body = (
        f'<p><a href="{escape(back)}">&larr; report</a></p>' + dry_run_banner(dry_run)
        + f"<h1>Agent {escape(agent.id)}</h1>"
        f'<p class="sub">child of {escape(agent.parent_id or "(seed)")}, iteration {agent.iteration}, '
        f"score {escape(agent.stat.text())}, status {escape(agent.status)}</p>"
        + agent_section(agent, diff, flags, packet)
    )
    return _page(f"dgm: agent {agent.id}", body)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _image(figure: Figure) -> str:
    data = base64.b64encode(figure.png.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{escape(figure.title)}" src="data:image/png;base64,{data}">'
        f'<figcaption>{escape(figure.title)} (vector: {escape(figure.svg.name)})</figcaption></figure>'
    )


def _verdict(verdict: str | None) -> str:
    if verdict is None:
        return ""
    label = {"approve": "approved", "reject": "rejected"}.get(verdict, verdict)
    return f'<span class="{escape(verdict)}">{escape(label)}</span>'


def _top_table(rows: Sequence[TopRow], best_path: set[str]) -> str:
    head = "<tr><th>#</th><th>agent</th><th>score [95% CI] n</th><th>parent</th><th>iteration</th><th>cost (USD)</th><th>review</th><th>flags</th><th>diff</th></tr>"
    body = []
    for rank, row in enumerate(rows, 1):
        a = row.agent
        marker = " &#9733;" if a.id in best_path else ""
        body.append(
            f"<tr><td class=\"num\">{rank}</td><td>{escape(a.id)}{marker}</td><td class=\"num\">{escape(a.stat.text())}</td>"
            f"<td>{escape(a.parent_id or '(seed)')}</td><td class=\"num\">{a.iteration}</td><td class=\"num\">{a.cost:.4f}</td>"
            f"<td>{_verdict(a.verdict)}</td><td class=\"num{' flags' if row.flags else ''}\">{row.flags}</td>"
            f"<td><a href=\"#agent-{escape(a.id)}\">below</a> &middot; <a href=\"{escape(row.diff_html)}\">page</a> &middot; <a href=\"{escape(row.diff_raw)}\">.diff</a></td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


LINEAGE_ROWS = 12
"""Agents of the best path the suite table shows: the seed and the last ones before the best."""


def _stat_cell(stat: ScoreStat | None) -> str:
    if stat is None or stat.score is None or stat.low is None or stat.high is None:
        return '<td class="num">-</td>'
    return f'<td class="num">{stat.score:.3f} <small>[{stat.low:.2f}, {stat.high:.2f}]</small> {stat.passed}/{stat.tasks}</td>'


def _stats(scores: Sequence[SuiteScore]) -> dict[tuple[str, str | None], ScoreStat]:
    """(suite, None) and (suite, language) -> the score there."""
    out: dict[tuple[str, str | None], ScoreStat] = {}
    for s in scores:
        out[(s.suite, None)] = s.stat
        out.update({(s.suite, part.name): part.stat for part in s.languages})
    return out


def suite_table(path: Sequence[AgentPoint], suites: Mapping[str, Sequence[SuiteScore]]) -> str:
    """The score per suite (and per polyglot language, a column each) of the agents on the best
    path, seed first, as an HTML table; '' when none of them has a breakdown. A column exists
    only for a suite or language some agent was evaluated on, so a run of built-in suites gets
    no empty language columns. A long path keeps the seed and the last agents before the best."""
    stats = {a.id: _stats(suites.get(a.id, ())) for a in path}
    seen = dict.fromkeys(column for found in stats.values() for column in found)
    order = {suite: i for i, suite in enumerate(dict.fromkeys(suite for suite, _ in seen))}
    columns = sorted(seen, key=lambda c: (order[c[0]], c[1] is not None, c[1] or ""))  # a suite, then its languages by name
    if not columns:
        return ""
    shown: list[AgentPoint | None] = list(path)
    if len(path) > LINEAGE_ROWS:
        shown = [path[0], None, *path[len(path) - LINEAGE_ROWS + 1:]]
    head = "<tr><th>agent</th><th>score [95% CI] n</th>" + "".join(
        f"<th>{escape(suite if part is None else f'{suite}/{part}')}</th>" for suite, part in columns) + "</tr>"
    body = []
    for row in shown:
        if row is None:
            body.append(f'<tr><td colspan="{len(columns) + 2}">&hellip; {len(path) - LINEAGE_ROWS} more agents</td></tr>')
            continue
        body.append(f"<tr><td>{escape(row.id)}</td><td class=\"num\">{escape(row.stat.text())}</td>"
                    + "".join(_stat_cell(stats[row.id].get(column)) for column in columns) + "</tr>")
    return f'<table id="suite-scores">{head}{"".join(body)}</table>'


def report_page(data: ReportData, figures: Sequence[Figure], rows: Sequence[TopRow]) -> str:
    agents = data.agents
    best = data.best()
    invalid = sum(a.status == "invalid" for a in agents)
    rejected = sum(a.verdict == "reject" for a in agents)
    approved = sum(a.verdict == "approve" for a in agents)
    cards = [
        ("agents", f"{len(agents):,}"),
        ("best score", f"{escape(best.stat.text())} ({escape(best.id)})" if best else "-"),
        ("invalid", f"{invalid:,}"),
        ("approved / rejected", f"{approved:,} / {rejected:,}"),
        ("LLM spend", f"${data.total_cost():,.2f}" + (" (made up)" if data.dry_run else "")),
        ("LLM calls", f"{len(data.calls):,}"),
    ]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"<h1>Run {escape(data.run_name)}</h1><p class=\"sub\">dgm report, generated {generated}</p>"
        + dry_run_banner(data.dry_run)
        + _run_facts(data)
        + '<div class="cards">' + "".join(f'<div class="card">{k}<b>{v}</b></div>' for k, v in cards) + "</div>"
        + "".join(_image(f) for f in figures)
        + f"<h2>Top {len(rows)} agents</h2><p class=\"sub\">&#9733; on the path from the seed to the best agent; "
        "flags count what the diff against the parent raised (see dgm review).</p>"
        + _top_table(rows, set(data.best_path()))
        + _suites_section(data)
        + "".join(
            f'<details class="agent" id="agent-{escape(r.agent.id)}"><summary>Agent {escape(r.agent.id)}: score {_score(r.agent.score)}, '
            f"child of {escape(r.agent.parent_id or '(seed)')}, {r.flags} flag(s)</summary>{r.section}</details>"
            for r in rows if r.section
        )
    )
    return _page(f"dgm report: {data.run_name}", body)


def _suites_section(data: ReportData) -> str:
    by_id = data.by_id()
    table = suite_table([by_id[a] for a in data.best_path()], data.suites)
    if not table:
        return ""
    return ("<h2>Score per suite along the best lineage</h2><p class=\"sub\">From the seed to the best agent: each suite's "
            "pass rate [95% Wilson interval] passed/tasks; polyglot also per language.</p>" + table)


def _run_facts(data: ReportData) -> str:
    if data.run is None:
        return ""
    return (
        f'<p>Model: <code id="model">{escape(data.run.model)}</code></p>'
        f'<details><summary>Run config (run.toml)</summary><pre class="text" id="config">{escape(data.run.config_text)}</pre></details>'
    )


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
