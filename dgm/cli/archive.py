"""`dgm archive`: browse a run's archive (ls, tree, show, diff, best, export, verify).

Built on `archive.Reader` (sqlite3 + the git command line), never on sqlmodel or GitPython,
so each command answers in a fraction of a second on a 10,000-agent archive. Nothing here
writes to the database except `migrate` (the store's own migrations, through the store); `verify
--repair` only re-creates missing git refs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dgm.archive.schema import AGENT_STATUSES as STATUSES

from dgm.cli.common import JsonOption, RunOption, console, print_json, resolve_run


def check_status(value: str | None) -> str | None:
    if value is not None and value not in STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(STATUSES)}, not {value!r}")
    return value


app = typer.Typer(add_completion=False, no_args_is_help=True, help="Browse the archive: ls, tree, show, diff, best, export, verify, migrate.")

AgentArg = Annotated[str, typer.Argument(help="An agent id, e.g. a12 ('best' for the best agent).")]


def _reader(run: Path | None):  # -> archive.Reader
    from dgm.archive.reader import Reader

    return Reader.open(resolve_run(run))


def _resolve(reader, agent_id: str) -> str:
    """'best' names the best agent; anything else must be an id."""
    if agent_id == "best":
        from dgm.archive.errors import UnknownAgentError

        best = reader.best()
        if best is None:
            raise UnknownAgentError("no evaluated agent yet, so there is no 'best'")
        return best.id
    return reader.get(agent_id).id


@app.command("ls")
def ls(
    run: RunOption = None,
    sort: Annotated[str, typer.Option(help="id, score, iteration, children or cost (newest/highest first).")] = "id",
    status: Annotated[Optional[str], typer.Option(callback=lambda value: check_status(value), help="Only agents with this status (pending, evaluating, evaluated, invalid).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=0, help="Rows to show; 0 for all (default: 50 in the table, all with --json).")] = None,
    json_output: JsonOption = False,
) -> None:
    """List agents: id, parent, iteration, status, score, children, cost."""
    from dgm.archive.queries import SORT_KEYS

    from dgm.cli.archive_views import ls_json, ls_table

    if sort not in SORT_KEYS:
        raise typer.BadParameter(f"--sort must be one of {', '.join(SORT_KEYS)}")
    limit = (0 if json_output else 50) if limit is None else limit
    with _reader(run) as reader:
        rows = reader.summaries(status, sort=sort, limit=limit)
        total = reader.count_agents(status)
        best = reader.best()
    if json_output:
        print_json(ls_json(rows))
    else:
        console().print(ls_table(rows, total, best.id if best else None))


@app.command()
def tree(
    run: RunOption = None,
    top: Annotated[Optional[int], typer.Option(min=1, help="Keep only the N best agents and their ancestors (default: 20 above 200 agents).")] = None,
    all_agents: Annotated[bool, typer.Option("--all", help="Show every agent, however many.")] = False,
    depth: Annotated[Optional[int], typer.Option(min=0, help="Fold what lies deeper than this many levels.")] = None,
    json_output: JsonOption = False,
) -> None:
    """The lineage as a tree with scores; the best path highlighted."""
    from dgm.cli.archive_views import DEFAULT_TOP, PRUNE_ABOVE, build_lineage, tree_json, tree_view

    with _reader(run) as reader:
        agents = reader.agents()
        children = reader.children_counts() if json_output else {}
    if json_output:
        print_json(tree_json(agents, children))
        return
    if top is None and not all_agents and len(agents) > PRUNE_ABOVE:
        top = DEFAULT_TOP
    console().print(tree_view(build_lineage(agents, top=None if all_agents else top, depth=depth)))


@app.command()
def show(agent_id: AgentArg, run: RunOption = None, json_output: JsonOption = False) -> None:
    """One agent: metadata, scores per suite and stage, files changed, cost, reviews, diagnosis."""
    from dgm.cli.archive_views import AgentDetail, show_json, show_view

    with _reader(run) as reader:
        ident = _resolve(reader, agent_id)
        detail = AgentDetail(
            agent=reader.get(ident),
            children=reader.children_counts().get(ident, 0),
            evaluations=reader.evaluations(ident),
            files=reader.changed_files(ident),
            spend=reader.child_cost(ident),
            reviews=reader.reviews(ident),
        )
    if json_output:
        print_json(show_json(detail))
    else:
        console().print(show_view(detail))


@app.command()
def diff(
    a: AgentArg,
    b: Annotated[Optional[str], typer.Argument(help="Diff A against B instead of A's parent.")] = None,
    run: RunOption = None,
) -> None:
    """Unified diff of an agent against its parent (or of A to B); highlighted on a terminal."""
    with _reader(run) as reader:
        text = reader.diff(_resolve(reader, a), _resolve(reader, b) if b else None)
    if sys.stdout.isatty():
        from rich.syntax import Syntax

        console().print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(text)


@app.command()
def best(run: RunOption = None, json_output: JsonOption = False) -> None:
    """The evaluated agent with the highest score."""
    from dgm.cli.archive_views import agent_json, best_view

    with _reader(run) as reader:
        agent = reader.best()
    if json_output:
        print_json(agent_json(agent) if agent else None)
    else:
        console().print(best_view(agent))


@app.command()
def export(
    agent_id: AgentArg,
    dest: Annotated[Path, typer.Argument(help="Folder to write the agent's code to (absent or empty).")],
    run: RunOption = None,
) -> None:
    """Check an agent's code out to a folder."""
    with _reader(run) as reader:
        ident = _resolve(reader, agent_id)
        reader.export(ident, dest)
    console(stderr=True).print(f"exported {ident} to {dest}")


@app.command()
def verify(
    run: RunOption = None,
    repair: Annotated[bool, typer.Option("--repair", help="Re-create missing refs of existing commits (orphans are only listed).")] = False,
    json_output: JsonOption = False,
) -> None:
    """Check the database against git both ways; exit 1 when inconsistent."""
    from dgm.cli.archive_views import verify_json, verify_view

    with _reader(run) as reader:
        report = reader.verify(repair=repair)
    if json_output:
        print_json(verify_json(report))
    else:
        console().print(verify_view(report))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def migrate(run: RunOption = None) -> None:
    """Bring a run made by an older dgm up to this version's schema, in place (what 'dgm run'
    does on opening; the browsing commands never write, so they ask for this first)."""
    from dgm.archive.store import Archive

    run_dir = resolve_run(run)
    with Archive.open(run_dir) as store:
        version = store.schema_version()
    console().print(f"{run_dir}: the archive is at schema version {version}, this dgm's")
