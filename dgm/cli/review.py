"""`dgm review`: look at children's diffs and approve, reject or annotate them.

Without a subcommand (or with `next`) it walks the queue interactively: flags first, then the
diagnosis, scores against the parent, cost and the diff (paged when long on a terminal), then
asks for a verdict. `approve|reject|note ID` do the same for scripts; `ls` lists the queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dgm.cli.common import JsonOption, RunOption, console, print_json, resolve_run
from dgm.errors import DgmError

app = typer.Typer(
    help="Review children's diffs: next (the default), approve, reject, note, ls, show.",
    no_args_is_help=False,
    add_completion=False,
    invoke_without_command=True,
)

NoteOption = Annotated[str, typer.Option("--note", "-m", help="A note kept with the verdict.")]
ACTIONS = {"a": "approve", "r": "reject", "n": "note", "s": "skip", "q": "quit"}


_group_run: list[Path] = []  # `dgm review --run X approve ID`: the group's --run serves the subcommand


def _open(run: Path | None, readonly: bool) -> Any:
    """The run's archive: the light sqlite3 Reader for reading, the store for verdicts."""
    run_dir = resolve_run(run or (_group_run[0] if _group_run else None))
    if readonly:
        from dgm.archive import Reader

        return Reader.open(run_dir)
    from dgm.archive import Archive

    return Archive.open(run_dir)


@app.callback()
def main(ctx: typer.Context, run: RunOption = None) -> None:
    """Review the next child waiting for a verdict (the same as `dgm review next`)."""
    _group_run[:] = [run] if run else []
    if ctx.invoked_subcommand is None:
        review_next(run)


@app.command("next")
def review_next(run: RunOption = None) -> None:
    """Walk the queue: show each waiting child and ask approve / reject / note / skip / quit."""
    from dgm.review.queue import awaiting_review

    archive = _open(run, readonly=False)
    out = console()
    skipped: set[str] = set()
    while True:
        waiting = [a for a in awaiting_review(archive) if a.id not in skipped]
        if not waiting:
            out.print("Nothing waits for review." if not skipped else f"Nothing more waits for review ({len(skipped)} skipped).")
            return
        agent = waiting[0]
        if not _review_one(archive, agent.id, f"1 of {len(waiting)} waiting", out):
            return
        skipped.add(agent.id)  # decided, or skipped for this session


def _review_one(archive: Any, agent_id: str, position: str, out: Any) -> bool:
    """Show one child and take verdicts until one decides it. False when the reviewer quits."""
    from rich.prompt import Prompt

    from dgm.review.queue import load_packet

    packet = load_packet(archive, agent_id)
    out.rule(f"review {agent_id}")
    _show_packet(packet, out, position)
    while True:
        try:
            answer = Prompt.ask(
                f"[bold]{agent_id}[/]: [green]a[/]pprove, [red]r[/]eject, [cyan]n[/]ote, [dim]s[/]kip, [dim]q[/]uit",
                choices=list(ACTIONS) + list(ACTIONS.values()),
                show_choices=False,
                console=out,
            )
        except EOFError:
            out.print("(end of input: stopping)")
            return False
        action = ACTIONS.get(answer, answer)
        if action == "quit":
            return False
        if action == "skip":
            return True
        try:
            note = Prompt.ask("Note" + (" (optional)" if action != "note" else ""), default="", show_default=False, console=out)
        except EOFError:
            note = ""
        if action == "note" and not note.strip():
            out.print("[dim]An empty note is not kept.[/]")
            continue
        _record(archive, agent_id, action, note, out)
        if action != "note":
            return True


def _show_packet(packet: Any, out: Any, position: str = "") -> None:
    """Summary (flags first) then the diff. On a terminal, a long review goes through the
    pager as a whole, so it still opens on the flags, and a one-line recap stays on screen."""
    import os

    from dgm.review import views

    summary, diff = views.packet_summary(packet, position), views.diff_view(packet.diff)
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


def _record(archive: Any, agent_id: str, verdict: str, note: str, out: Any) -> None:
    archive.add_review(agent_id, verdict, note=note)
    label = {"approve": "[green]approved[/]", "reject": "[red]rejected[/]", "note": "[cyan]noted[/]"}[verdict]
    out.print(f"{agent_id} {label}" + (f": {note}" if note else ""))


def _verdict(verdict: str, agent_id: str, note: str, run: Path | None) -> None:
    archive = _open(run, readonly=False)
    agent = archive.get(agent_id)
    _record(archive, agent.id, verdict, note, console())


@app.command()
def approve(agent_id: Annotated[str, typer.Argument(metavar="ID")], note: NoteOption = "", run: RunOption = None) -> None:
    """Approve an agent: with require_approval on, it may now become a parent."""
    _verdict("approve", agent_id, note, run)


@app.command()
def reject(agent_id: Annotated[str, typer.Argument(metavar="ID")], note: NoteOption = "", run: RunOption = None) -> None:
    """Reject an agent: it will never become a parent."""
    _verdict("reject", agent_id, note, run)


@app.command("note")
def add_note(agent_id: Annotated[str, typer.Argument(metavar="ID")], note: NoteOption = "", run: RunOption = None) -> None:
    """Keep a note on an agent without deciding on it."""
    if not note.strip():
        raise DgmError("a note needs text: dgm review note ID --note TEXT")
    _verdict("note", agent_id, note, run)


@app.command("show")
def show(agent_id: Annotated[str, typer.Argument(metavar="ID")], run: RunOption = None, as_json: JsonOption = False) -> None:
    """Everything `review next` shows for one agent, without asking anything."""
    from dgm.review.queue import load_packet

    archive = _open(run, readonly=True)
    packet = load_packet(archive, agent_id)
    if as_json:
        print_json(_packet_json(packet))
        return
    _show_packet(packet, console())


def _packet_json(packet: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "id": packet.agent.id,
        "parent": packet.agent.parent_id,
        "score": packet.agent.score,
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
) -> None:
    """The children waiting for review, oldest first, with how many flags each raises."""
    from dgm.review.flags import flag_diff
    from dgm.review.queue import awaiting_review

    archive = _open(run, readonly=True)
    waiting = awaiting_review(archive)
    shown = waiting[:limit] if limit > 0 else waiting
    flags = {a.id: flag_diff(archive.diff(a.id)) for a in shown}
    if as_json:
        print_json(
            [
                {"id": a.id, "parent": a.parent_id, "iteration": a.iteration, "score": a.score, "created_at": a.created_at,
                 "flags": [f.kind for f in flags[a.id]]}
                for a in shown
            ]
        )
        return
    from dgm.review.views import pending_table

    out = console()
    out.print(pending_table(shown, {k: len(v) for k, v in flags.items()}))
    if len(shown) < len(waiting):
        out.print(f"[dim]... and {len(waiting) - len(shown)} more (--limit 0 shows all)[/]")
