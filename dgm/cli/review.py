"""`dgm review`: look at children's diffs and approve, reject or annotate them.

Without a subcommand (or with `next`) it walks the queue interactively: flags first, then the
diagnosis, scores against the parent, cost and the diff (paged when long on a terminal), then
asks for a verdict. `approve|reject|note ID` do the same for scripts; `ls` lists the queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from dgm.cli.common import JsonOption, RunOption, console, print_json, resolve_agent, resolve_run
from dgm.errors import DgmError

if TYPE_CHECKING:
    from dgm.archive import Archive
    from dgm.archive.queries import Queries

app = typer.Typer(
    help="Review children's diffs: next (the default), approve, reject, note, ls, show, difftool.",
    no_args_is_help=False,
    add_completion=False,
    invoke_without_command=True,
)

NoteOption = Annotated[str, typer.Option("--note", "-m", help="A note kept with the verdict.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Change a verdict already given (approve after reject, or the reverse).")]
IdsArg = Annotated[Optional[list[str]], typer.Argument(metavar="ID", help="Agent ids ('best' for the best agent).", show_default=False)]
FlagFilter = Annotated[Optional[str], typer.Option("--flag", help="Only children raising this flag kind, or a flag of this severity (high, medium, low).")]
MinChange = Annotated[Optional[float], typer.Option("--min-change", help="Only children whose score minus their parent's is at least this.")]
MaxChange = Annotated[Optional[float], typer.Option("--max-change", help="Only children whose score minus their parent's is at most this.")]
ParentFilter = Annotated[Optional[str], typer.Option("--parent", help="Only children of this agent.")]
IterationFilter = Annotated[Optional[int], typer.Option("--iteration", help="Only children made in this iteration.")]
ACTIONS = {
    "a": "approve", "r": "reject", "n": "note", "l": "line-note", "f": "file", "d": "difftool", "e": "editor",
    "b": "back", "s": "skip", "q": "quit",
}
PROMPT = (
    "[bold]{id}[/]: [green]a[/]pprove, [red]r[/]eject, [cyan]n[/]ote, [cyan]l[/]ine note, next [bold]f[/]ile, "
    "[bold]d[/]ifftool, [bold]e[/]ditor, [bold]b[/]ack, [dim]s[/]kip, [dim]q[/]uit"
)


_group_run: list[Path] = []  # `dgm review --run X approve ID`: the group's --run serves the subcommand


def _open(run: Path | None, readonly: bool) -> Any:
    """The run's archive: the light sqlite3 Reader for reading, the store for verdicts."""
    run_dir = resolve_run(run or (_group_run[0] if _group_run else None))
    if readonly:
        from dgm.archive import Reader

        return Reader.open(run_dir)
    from dgm.archive import Archive

    return Archive.open(run_dir)


def _filter(flag: str | None, min_change: float | None, max_change: float | None, parent: str | None, iteration: int | None) -> Any:
    from dgm.review.queue import QueueFilter

    return QueueFilter(flag, min_change, max_change, parent, iteration)


def _resolve_id(archive: Queries, agent_id: str) -> str:
    """'best' names the best agent (as in `dgm archive diff best`)."""
    return resolve_agent(archive, agent_id)


@app.callback()
def main(ctx: typer.Context, run: RunOption = None) -> None:
    """Review the next child waiting for a verdict (the same as `dgm review next`)."""
    _group_run[:] = [run] if run else []
    if ctx.invoked_subcommand is None:
        review_next(run)


class _Session:
    """Counts of one interactive session, for the position and the closing line."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.counts = {"approve": 0, "reject": 0, "skip": 0}

    def summary(self) -> str:
        parts = [f"{n} {label}" for label, n in (("approved", self.counts["approve"]), ("rejected", self.counts["reject"]), ("skipped", self.counts["skip"])) if n]
        return f" ({', '.join(parts)})" if parts else ""


@app.command("next")
def review_next(
    run: RunOption = None, flag: FlagFilter = None, min_change: MinChange = None, max_change: MaxChange = None,
    parent: ParentFilter = None, iteration: IterationFilter = None,
) -> None:
    """Walk the queue: show each waiting child and ask for a verdict (a, r, n, l, f, d, e, b, s, q)."""
    from dgm.review.queue import awaiting_review

    archive = _open(run, readonly=False)
    queue_filter = _filter(flag, min_change, max_change, parent, iteration)
    out = console()
    session = _Session()
    back: str | None = None
    while True:
        waiting = [a.id for a in awaiting_review(archive, queue_filter) if a.id not in session.done]
        if back is not None:
            agent_id, back = back, None
        elif waiting:
            agent_id = waiting[0]
        else:
            out.print(("Nothing waits for review." if not session.done else "Nothing more waits for review.") + session.summary())
            return
        total = len(session.done) + len(waiting) + (1 if agent_id not in waiting else 0)
        position = f"{len(session.done) + 1 if agent_id in waiting else session.done.index(agent_id) + 1} of {total} waiting"
        result = _review_one(archive, agent_id, position, out)
        if result == "quit":
            out.print("Stopped." + session.summary())
            return
        if result == "back":
            previous = [d for d in session.done if d != agent_id]
            if not previous:
                out.print("[dim]No previous child in this session.[/]")
                back = agent_id
                continue
            back = previous[-1]
            continue
        if agent_id not in session.done:
            session.done.append(agent_id)
        session.counts[result] = session.counts.get(result, 0) + 1


def _review_one(archive: Archive, agent_id: str, position: str, out: Any) -> str:
    """Show one child and take actions until one decides it: approve, reject, skip, back or quit."""
    from rich.prompt import Prompt

    from dgm.review import views
    from dgm.review.queue import load_packet

    packet = load_packet(archive, agent_id)
    out.rule(f"review {agent_id}")
    _show_packet(packet, out, position)
    files = views.split_diff(packet.diff)
    current = -1
    offered = {v for _, v in packet.same_tree}
    default = {"approve": "a", "reject": "r"}.get(next(iter(offered))) if len(offered) == 1 else None
    while True:
        try:
            question = PROMPT.format(id=agent_id) + (f" [dim](enter: {ACTIONS[default]}, as its twin)[/]" if default else "")
            choices = list(ACTIONS) + list(ACTIONS.values())
            if default:
                answer = Prompt.ask(question, choices=choices, show_choices=False, console=out, default=default, show_default=False)
            else:
                answer = Prompt.ask(question, choices=choices, show_choices=False, console=out)
        except EOFError:
            out.print("(end of input: stopping)")
            return "quit"
        action = ACTIONS.get(answer, answer)
        if action in ("quit", "skip", "back"):
            return action
        if action == "file":
            if not files:
                out.print("[dim](no files changed)[/]")
                continue
            current = (current + 1) % len(files)
            out.print(views.files_table(packet.files, current))
            out.print(views.diff_view(files[current][1], packet.line_notes))
            continue
        if action in ("difftool", "editor"):
            _open_external(archive, packet, action, files[current][0] if current >= 0 and files else None)
            continue
        try:
            where = Prompt.ask("File and line (path:N)", console=out) if action == "line-note" else ""
            note = Prompt.ask("Note" + (" (optional)" if action not in ("note", "line-note") else ""), default="", show_default=False, console=out)
        except EOFError:
            out.print("(end of input: stopping)")
            return "quit"
        if action in ("note", "line-note") and not note.strip():
            out.print("[dim]An empty note is not kept.[/]")
            continue
        file, line = _parse_where(where) if action == "line-note" else (None, None)
        if action == "line-note" and file is None:
            out.print("[dim]Give the place as path:N, e.g. agent.py:12.[/]")
            continue
        try:
            if file is not None and line is not None and line > _file_lines(archive, agent_id, file):
                raise DgmError(f"{file} has fewer than {line} lines in {agent_id}")
            _record(archive, agent_id, "note" if action == "line-note" else action, note, out, file=file, line=line)
        except DgmError as exc:
            out.print(f"[red]{exc}[/]")
            continue
        if action in ("approve", "reject"):
            return action


def _parse_where(where: str) -> tuple[str | None, int | None]:
    path, _, number = where.strip().rpartition(":")
    return (path, int(number)) if path and number.isdigit() and int(number) > 0 else (None, None)


def _open_external(archive: Queries, packet: Any, action: str, path: str | None) -> None:
    from dgm.review.external import difftool, open_in_editor

    if action == "difftool":
        difftool(archive.git_dir, packet.parent.commit if packet.parent else None, packet.agent.commit, path)
    else:
        open_in_editor(packet.diff, packet.agent.id)


def _show_packet(packet: Any, out: Any, position: str = "") -> None:
    """Summary (flags first) then the diff. On a terminal, a long review goes through the
    pager as a whole, so it still opens on the flags, and a one-line recap stays on screen."""
    import os

    from dgm.review import views

    summary, diff = views.packet_summary(packet, position), views.diff_view(packet.diff, packet.line_notes)
    long = len(packet.diff.splitlines()) + 25 > out.height
    if not (out.is_terminal and long):
        out.print(summary)
        out.print(diff)
        return
    if "R" not in os.environ.get("LESS", ""):  # let less show colours instead of escape codes
        os.environ["LESS"] = (os.environ.get("LESS", "") + " -R").strip()
    with out.pager(styles=True):
        out.print(summary)
        out.print(diff)
    out.print(views.recap(packet))


def _record(archive: Archive, agent_id: str, verdict: str, note: str, out: Any | None, force: bool = False,
            file: str | None = None, line: int | None = None) -> Any:
    """Write under the verdict rule (dgm.review.verdicts) and say what happened."""
    from dgm.review.verdicts import record_verdict

    outcome = record_verdict(archive, agent_id, verdict, note, force=force, file=file, line=line)
    if out is None:
        return outcome
    label = {"approve": "[green]approved[/]", "reject": "[red]rejected[/]", "note": "[cyan]noted[/]"}[verdict]
    where = f" on {file}:{line}" if file else ""
    if not outcome.recorded:
        out.print(f"{agent_id} was already {label}; nothing changed")
    elif outcome.changed:
        past = {"approve": "approved", "reject": "rejected"}.get(outcome.previous or "", "none")
        out.print(f"{agent_id} {label} (replacing its earlier verdict: {past})" + (f": {note}" if note else ""))
    else:
        out.print(f"{agent_id} {label}{where}" + (f": {note}" if note else ""))
    return outcome


def _bulk(verdict: str, ids: list[str] | None, use_filter: bool, queue_filter: Any, note: str, force: bool, run: Path | None, as_json: bool) -> None:
    from dgm.review.queue import awaiting_review

    archive = _open(run, readonly=False)
    if use_filter:
        if ids:
            raise DgmError("give either agent ids or --filter, not both")
        if queue_filter.is_empty():
            raise DgmError("--filter needs at least one of --flag, --min-change, --max-change, --parent, --iteration")
        targets = [a.id for a in awaiting_review(archive, queue_filter)]
        if not targets:
            raise DgmError("no waiting child matches the filter")
    elif not ids:
        raise DgmError(f"name the agents to {verdict} (dgm review {verdict} ID...), or use --filter")
    else:
        targets = [_resolve_id(archive, i) for i in ids]  # every id checked before anything is written
    from dgm.review.verdicts import check_verdict, current_verdict

    for target in targets:
        check_verdict(target, verdict, current_verdict(archive, target), force)
    outcomes = [_record(archive, t, verdict, note, None if as_json else console(), force=force) for t in targets]
    if as_json:
        print_json([o.to_dict() for o in outcomes])


@app.command()
def approve(
    agent_ids: IdsArg = None, note: NoteOption = "", force: ForceOption = False, run: RunOption = None, as_json: JsonOption = False,
    use_filter: Annotated[bool, typer.Option("--filter", help="Approve every waiting child the filter options select.")] = False,
    flag: FlagFilter = None, min_change: MinChange = None, max_change: MaxChange = None, parent: ParentFilter = None, iteration: IterationFilter = None,
) -> None:
    """Approve agents: with require_approval on, they may now become parents."""
    _bulk("approve", agent_ids, use_filter, _filter(flag, min_change, max_change, parent, iteration), note, force, run, as_json)


@app.command()
def reject(
    agent_ids: IdsArg = None, note: NoteOption = "", force: ForceOption = False, run: RunOption = None, as_json: JsonOption = False,
    use_filter: Annotated[bool, typer.Option("--filter", help="Reject every waiting child the filter options select.")] = False,
    flag: FlagFilter = None, min_change: MinChange = None, max_change: MaxChange = None, parent: ParentFilter = None, iteration: IterationFilter = None,
) -> None:
    """Reject agents: they will never become parents."""
    _bulk("reject", agent_ids, use_filter, _filter(flag, min_change, max_change, parent, iteration), note, force, run, as_json)


@app.command("note")
def add_note(
    agent_id: Annotated[str, typer.Argument(metavar="ID")],
    text: Annotated[Optional[str], typer.Argument(metavar="[TEXT]", help="The note (or use --note).", show_default=False)] = None,
    note: NoteOption = "",
    file: Annotated[Optional[str], typer.Option("--file", help="Comment on a line of this file (a path in the agent's code).")] = None,
    line: Annotated[Optional[int], typer.Option("--line", min=1, help="The line of --file (in the agent's version).")] = None,
    run: RunOption = None,
    as_json: JsonOption = False,
) -> None:
    """Keep a note on an agent, or on one line of its code (--file F --line N), without deciding on it."""
    body = " ".join(p for p in (text or "", note) if p).strip()
    if not body:
        raise DgmError("a note needs text: dgm review note ID TEXT (or --note TEXT)")
    if (file is None) != (line is None):
        raise DgmError("a line comment needs both --file and --line")
    archive = _open(run, readonly=False)
    ident = _resolve_id(archive, agent_id)
    if file is not None and line is not None and line > _file_lines(archive, ident, file):
        raise DgmError(f"{file} has fewer than {line} lines in {ident}: --line {line} is past its end")
    outcome = _record(archive, ident, "note", body, None if as_json else console(), file=file, line=line)
    if as_json:
        print_json({**outcome.to_dict(), "file": file, "line": line, "note": body})


def _file_lines(archive: Queries, agent_id: str, path: str) -> int:
    tree = archive.read_tree(agent_id)
    if path not in tree:
        raise DgmError(f"{agent_id} has no file {path}")
    return len(tree[path].decode("utf-8", "replace").splitlines())


@app.command("show")
def show(
    agent_id: Annotated[str, typer.Argument(metavar="ID")],
    run: RunOption = None,
    as_json: JsonOption = False,
    file: Annotated[Optional[str], typer.Option("--file", help="Only this file's diff (a path, or its number in the file list).")] = None,
) -> None:
    """Everything `review next` shows for one agent, without asking anything."""
    from dgm.review.queue import load_packet

    archive = _open(run, readonly=True)
    packet = load_packet(archive, _resolve_id(archive, agent_id))
    if as_json:
        print_json(_packet_json(packet))
        return
    if file is None:
        _show_packet(packet, console())
        return
    from dgm.review import views

    parts = views.split_diff(packet.diff)
    index = int(file) - 1 if file.isdigit() else next((i for i, (p, _) in enumerate(parts) if p == file), -1)
    if not 0 <= index < len(parts):
        raise DgmError(f"{packet.agent.id} changes no file {file} (see 'dgm review show {packet.agent.id}')")
    out = console()
    out.print(views.files_table(packet.files, index))
    out.print(views.diff_view(parts[index][1], packet.line_notes))


@app.command("difftool")
def open_difftool(
    agent_id: Annotated[str, typer.Argument(metavar="ID")],
    run: RunOption = None,
    file: Annotated[Optional[str], typer.Option("--file", help="Only this file.")] = None,
    editor: Annotated[bool, typer.Option("--editor", help="Open the diff in $VISUAL/$EDITOR instead of git difftool.")] = False,
) -> None:
    """Open a child's diff against its parent in `git difftool` (your diff.tool) or $EDITOR."""
    from dgm.review.external import difftool, open_in_editor

    archive = _open(run, readonly=True)
    agent = archive.get(_resolve_id(archive, agent_id))
    if editor:
        code = open_in_editor(archive.diff(agent.id), agent.id)
    else:
        parent = archive.get(agent.parent_id) if agent.parent_id else None
        code = difftool(archive.git_dir, parent.commit if parent else None, agent.commit, file)
    raise typer.Exit(code)


def _packet_json(packet: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "id": packet.agent.id,
        "parent": packet.agent.parent_id,
        "score": packet.agent.score,
        **({k: v for k, v in packet.stat.as_dict().items() if k != "score"} if packet.stat is not None else {}),
        "verdict": packet.verdict,
        "parent_verdict": packet.parent_verdict,
        "same_tree": [{"id": i, "verdict": v} for i, v in packet.same_tree],
        "files": [asdict(f) for f in packet.files],
        "flags": [f.to_dict() for f in packet.flags],
        "diagnosis": packet.diagnosis,
        "problem_statement": packet.problem_statement,
        "scores": [asdict(row) for row in packet.scores],
        "spend": asdict(packet.spend),
        "reviews": [asdict(r) for r in packet.reviews],
        "diff": packet.diff,
    }


@app.command("ls")
def ls(
    run: RunOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Show at most this many (0: all); flags are computed for those shown.")] = 50,
    flag: FlagFilter = None, min_change: MinChange = None, max_change: MaxChange = None, parent: ParentFilter = None, iteration: IterationFilter = None,
) -> None:
    """The children waiting for review, oldest first, with their score change and flags."""
    from dgm.review.flags import flags_for_agent
    from dgm.review.queue import awaiting_review, score_change

    archive = _open(run, readonly=True)
    waiting = awaiting_review(archive, _filter(flag, min_change, max_change, parent, iteration))
    shown = waiting[:limit] if limit > 0 else waiting
    flags = {a.id: flags_for_agent(archive, a) for a in shown}
    stats = {a.id: archive.score_stat(a) for a in shown}
    scores = {a.id: a.score for a in archive.agents()}
    changes = {a.id: score_change(a.score, scores.get(a.parent_id)) for a in shown}
    if as_json:
        print_json(
            [
                {"id": a.id, "parent": a.parent_id, "iteration": a.iteration, **stats[a.id].as_dict(), "change": changes[a.id],
                 "created_at": a.created_at, "flags": [f.kind for f in flags[a.id]],
                 "severities": [f.severity for f in flags[a.id]]}
                for a in shown
            ]
        )
        return
    from dgm.review.views import pending_table

    out = console()
    out.print(pending_table(shown, {k: len(v) for k, v in flags.items()}, changes, stats))
    if len(shown) < len(waiting):
        out.print(f"[dim]... and {len(waiting) - len(shown)} more (--limit 0 shows all)[/]")
