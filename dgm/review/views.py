"""Rich views of review data: pure functions from records to renderables.

Tested by rendering to text (STYLE.md 11). The archive browser (`dgm archive show`) can reuse
`reviews_table` to show an agent's verdicts and notes.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from dgm.review.flags import Flag
from dgm.review.queue import ReviewPacket, ScoreRow

_VERDICT_STYLE = {"approve": "bold green", "reject": "bold red", "note": "cyan"}
_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}
NOTE_MARK = "»»"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _fraction(passed: int | None, tasks: int) -> str:
    return "" if not tasks else f"{passed if passed is not None else '?'}/{tasks}"


def header(packet: ReviewPacket, position: str = "") -> Text:
    agent = packet.agent
    text = Text()
    text.append(f"Agent {agent.id}", style="bold")
    score = packet.stat.text() if packet.stat is not None else _score(agent.score)
    text.append(f"  child of {agent.parent_id or '(seed)'}  iteration {agent.iteration}  score {score}")
    if position:
        text.append(f"  [{position}]", style="dim")
    return text


def flags_view(flags: Sequence[Flag]) -> RenderableType:
    """Flags first, so nothing suspicious hides below a long diff."""
    if not flags:
        return Text("No flags: nothing in the diff matched a known way of gaming the evaluation.", style="green")
    counts = {sev: sum(1 for f in flags if f.severity == sev) for sev in ("high", "medium", "low")}
    summary = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n)
    worst = next((sev for sev in ("high", "medium", "low") if counts[sev]), "low")
    table = Table(title=f"{len(flags)} flag(s): {summary}", title_style=_SEVERITY_STYLE[worst], show_lines=True, expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("flag", style="bold", no_wrap=True)
    table.add_column("where", style="yellow", overflow="fold")
    table.add_column("why and which lines", overflow="fold")
    for flag in flags:
        table.add_row(
            Text(flag.severity, style=_SEVERITY_STYLE.get(flag.severity, "")), flag.kind, flag.location(),
            Group(Text(flag.message), Text(flag.excerpt, style="dim")),
        )
    return table


def files_table(files: Sequence[Any], current: int | None = None) -> RenderableType:
    """Changed files with added/removed line counts; `current` marks the file on screen."""
    if not files:
        return Text("No files changed.", style="dim")
    table = Table(title=f"{len(files)} file(s) changed", title_justify="left")
    for name in ("#", "file", "change", "+", "-"):
        table.add_column(name, justify="right" if name in ("#", "+", "-") else "left")
    for i, f in enumerate(files, 1):
        mark = Text("▶ " if current == i - 1 else "") + Text(str(i))
        table.add_row(mark, f.path, f.change, Text(f"+{f.added}", style="green"), Text(f"-{f.deleted}", style="red"))
    return table


def notices(packet: ReviewPacket) -> list[Text]:
    """What the reviewer should know before reading: a rejected parent, an identical twin."""
    out = []
    if packet.parent_verdict == "reject":
        out.append(Text(f"Its parent {packet.agent.parent_id} was rejected.", style="bold red"))
    for twin, verdict in packet.same_tree:
        out.append(Text(f"Its code is identical to {twin}, already {_past(verdict)} (the same verdict is offered).", style="bold yellow"))
    if packet.verdict:
        out.append(Text(f"Current verdict: {_past(packet.verdict)} (changing it needs --force).", style=_VERDICT_STYLE[packet.verdict]))
    return out


def _past(verdict: str) -> str:
    return {"approve": "approved", "reject": "rejected"}.get(verdict, verdict)


def split_diff(diff: str) -> list[tuple[str, str]]:
    """(path, text) of each file's part of a git diff, in order."""
    parts: list[tuple[str, list[str]]] = []
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git ") or not parts:
            tail = line.rstrip("\n").split(" b/", 1)
            parts.append((tail[1] if len(tail) == 2 else "", []))
        parts[-1][1].append(line)
    return [(path, "".join(lines)) for path, lines in parts]


def annotate_diff(diff: str, line_notes: dict[tuple[str, int], list[Any]]) -> str:
    """The diff with each line comment printed right under the line it is about."""
    if not line_notes:
        return diff
    from dgm.review.diffparse import parse_diff

    out = []
    for path, text in split_diff(diff):
        parsed = parse_diff(text)
        numbers = [ln.new_no for fd in parsed for ln in fd.lines]
        body = text.splitlines(keepends=True)
        hunk_start = next((i for i, line in enumerate(body) if line.startswith("@@")), len(body))
        out += body[:hunk_start]
        rows = [line for line in body[hunk_start:]]
        k = 0
        for line in rows:
            out.append(line)
            if line.startswith("@@") or line.startswith("\\"):
                continue
            number = numbers[k] if k < len(numbers) else None
            k += 1
            for review in line_notes.get((path, number), []) if number else []:
                out.append(f"{NOTE_MARK} note on {path}:{number} ({review.created_at[:16]}): {review.note}\n")
    return "".join(out)



def context_view(packet: ReviewPacket) -> RenderableType:
    """The diagnosis and the problem statement that led to this child."""
    parts: list[RenderableType] = []
    for title, body in (("Diagnosis", packet.diagnosis), ("Problem statement", packet.problem_statement)):
        parts.append(Panel(Text(body or "(none recorded)", style="" if body else "dim"), title=title, title_align="left"))
    return Group(*parts)


def scores_table(rows: Sequence[ScoreRow], parent_id: str | None) -> RenderableType:
    if not rows:
        return Text("No evaluations recorded.", style="dim")
    table = Table(title="Scores against the parent", title_justify="left")
    for name in ("suite", "stage", "child", "tasks", f"parent {parent_id or ''}".strip(), "tasks", "change"):
        table.add_column(name, justify="left" if name in ("suite",) else "right")
    for row in rows:
        delta = row.delta
        change = Text("-" if delta is None else f"{delta:+.3f}", style="" if not delta else ("green" if delta > 0 else "red"))
        table.add_row(
            row.suite, str(row.stage + 1), _score(row.child), _fraction(row.child_passed, row.child_tasks),
            _score(row.parent), _fraction(row.parent_passed, row.parent_tasks), change,
        )
    return table


def spend_line(spend: Any) -> Text:
    return Text(
        f"Cost: ${spend.usd:.4f} in {spend.calls} LLM call(s), "
        f"{spend.prompt_tokens:,} prompt + {spend.completion_tokens:,} completion tokens"
    )


def diff_view(diff: str, line_notes: dict[tuple[str, int], list[Any]] | None = None) -> RenderableType:
    if not diff.strip():
        return Text("(empty diff)", style="dim")
    return Syntax(annotate_diff(diff, line_notes or {}), "diff", theme="ansi_dark", word_wrap=True, background_color="default")


def reviews_table(reviews: Iterable[Any], title: str = "Reviews") -> RenderableType:
    """Verdicts and notes with their times, oldest first."""
    reviews = sorted(reviews, key=lambda r: (r.created_at, r.id))
    if not reviews:
        return Text("No reviews yet.", style="dim")
    table = Table(title=title, title_justify="left")
    table.add_column("when", no_wrap=True)
    table.add_column("verdict")
    table.add_column("note", overflow="fold")
    for review in reviews:
        where = f"{review.file}:{review.line}: " if getattr(review, "file", None) else ""
        table.add_row(review.created_at, Text(review.verdict, style=_VERDICT_STYLE.get(review.verdict, "")), where + review.note)
    return table


def packet_summary(packet: ReviewPacket, position: str = "") -> RenderableType:
    """Everything above the diff, in reading order: flags, context, scores, cost, past reviews."""
    parts: list[RenderableType] = [header(packet, position), *notices(packet), flags_view(packet.flags), context_view(packet)]
    parts += [scores_table(packet.scores, packet.agent.parent_id), spend_line(packet.spend), files_table(packet.files)]
    if packet.reviews:
        parts.append(reviews_table(packet.reviews, "Reviews so far"))
    return Group(*parts)


def recap(packet: ReviewPacket) -> Text:
    """One line to decide by once a paged review is closed: flags, score change, cost."""
    text = header(packet)
    if packet.flags:
        kinds = sorted({f"{f.kind} ({f.severity})" for f in packet.flags})
        text.append(f"\n{len(packet.flags)} flag(s): {', '.join(kinds)}", style="bold red")
    else:
        text.append("\nno flags", style="green")
    deltas = [row.delta for row in packet.scores if row.delta is not None]
    if deltas:
        text.append(f"; score change {deltas[-1]:+.3f} in the last common stage")
    text.append(f"; cost ${packet.spend.usd:.4f}")
    return text


def pending_table(
    agents: Sequence[Any], flag_counts: dict[str, int] | None = None, changes: dict[str, float | None] | None = None,
    stats: dict[str, Any] | None = None,
) -> RenderableType:
    """The review queue: one line per child waiting for a verdict."""
    if not agents:
        return Text("Nothing waits for review.", style="green")
    table = Table(title=f"{len(agents)} child(ren) waiting for review", title_justify="left")
    for name in ("id", "parent", "iteration", "score", "change", "created", "flags"):
        table.add_column(name, justify="right" if name in ("iteration", "score", "change", "flags") else "left")
    for agent in agents:
        flags = (flag_counts or {}).get(agent.id)
        change = (changes or {}).get(agent.id)
        table.add_row(
            agent.id, agent.parent_id or "", str(agent.iteration),
            stats[agent.id].text() if stats and agent.id in stats else _score(agent.score),
            Text("-" if change is None else f"{change:+.3f}", style="" if not change else ("green" if change > 0 else "red")),
            agent.created_at,
            Text(str(flags), style="bold red") if flags else Text("-" if flags is None else "0"),
        )
    return table
