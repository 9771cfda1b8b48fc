"""`dgm archive`: browse a run's archive (ls, tree, show, diff, best, export, verify).

Built on `archive.Reader` (sqlite3 + the git command line), never on sqlmodel or GitPython,
so each command answers in a fraction of a second on a 10,000-agent archive. Nothing here
writes to the database except `migrate` (the store's own migrations, through the store) and
`verify --repair`, which re-creates missing git refs and recounts task counts out of step
(through the store, and only when there are some).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dgm.archive.schema import AGENT_STATUSES as STATUSES

from dgm.cli.common import JsonOption, RunOption, console, print_json, resolve_agent, resolve_run


def check_status(value: str | None) -> str | None:
    if value is not None and value not in STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(STATUSES)}, not {value!r}")
    return value


if TYPE_CHECKING:
    from dgm.archive.queries import Queries

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Browse the archive: ls, tree, show, diff, best, export, verify, migrate, export-run, import-run.")

AgentArg = Annotated[str, typer.Argument(help="An agent id, e.g. a12 ('best' for the best agent).")]


def _reader(run: Path | None):  # -> archive.Reader
    from dgm.archive.reader import Reader

    return Reader.open(resolve_run(run))


def _resolve(reader: Queries, agent_id: str) -> str:
    return resolve_agent(reader, agent_id)


@app.command("ls")
def ls(
    run: RunOption = None,
    sort: Annotated[str, typer.Option(help="id, score, iteration, children or cost (newest/highest first).")] = "id",
    status: Annotated[Optional[str], typer.Option(callback=lambda value: check_status(value), help="Only agents with this status (pending, evaluating, evaluated, invalid).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=0, help="Rows to show; 0 for all (default: 50 in the table, all with --json).")] = None,
    verdict: Annotated[Optional[str], typer.Option(help="Only agents whose current verdict is approved, rejected or none.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List agents: id, parent, iteration, status, score, children, cost, current verdict."""
    from dgm.archive.queries import SORT_KEYS

    from dgm.cli.archive_views import ls_json, ls_table
    from dgm.review.gate import latest_verdicts

    if sort not in SORT_KEYS:
        raise typer.BadParameter(f"--sort must be one of {', '.join(SORT_KEYS)}")
    wanted = {"approved": "approve", "rejected": "reject", "none": None}
    if verdict is not None and verdict not in wanted:
        raise typer.BadParameter("--verdict must be one of approved, rejected, none")
    limit = (0 if json_output else 50) if limit is None else limit
    with _reader(run) as reader:
        verdicts = latest_verdicts(reader.reviews())
        if verdict is None:
            rows = reader.summaries(status, sort=sort, limit=limit)
            total = reader.count_agents(status)
        else:  # the verdict is not a column: filter every row, then limit
            rows = [r for r in reader.summaries(status, sort=sort, limit=0) if verdicts.get(r.agent.id) == wanted[verdict]]
            total = len(rows)
            rows = rows[:limit] if limit else rows
        best = reader.best()
        counts = reader.task_counts()
    if json_output:
        print_json(ls_json(rows, counts, verdicts))
    else:
        console().print(ls_table(rows, total, best.id if best else None, counts, verdicts))


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
        counts = reader.task_counts()
    if json_output:
        print_json(tree_json(agents, children, counts))
        return
    if top is None and not all_agents and len(agents) > PRUNE_ABOVE:
        top = DEFAULT_TOP
    console().print(tree_view(build_lineage(agents, top=None if all_agents else top, depth=depth, counts=counts)))


@app.command()
def show(
    agent_id: AgentArg,
    run: RunOption = None,
    json_output: JsonOption = False,
    replay: Annotated[bool, typer.Option("--replay", help="The child's replay record: diagnosis prompt and answer, transcript, model, seeds, image, config hash, version.")] = False,
) -> None:
    """One agent: metadata, scores per suite and stage, files changed, cost, reviews, diagnosis."""
    if replay:
        from dgm.loop.replay import load_replay, replay_json, replay_view

        with _reader(run) as reader:
            record = load_replay(reader, _resolve(reader, agent_id))
        if json_output:
            print_json(replay_json(record))
        else:
            console().print(replay_view(record))
        return
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
            count=reader.task_count(ident),
            suites=reader.suite_scores([ident]).get(ident, []),
        )
        detail.reused_from.update(reader.evaluation_owners([e.reused_from for e in detail.evaluations if e.reused_from]))
    if json_output:
        print_json(show_json(detail))
    else:
        console().print(show_view(detail))


@app.command()
def diff(
    a: AgentArg,
    b: Annotated[Optional[str], typer.Argument(help="With B: the changes from A (old side, '-') to B (new side, '+').")] = None,
    run: RunOption = None,
    json_output: JsonOption = False,
) -> None:
    """Changes from A's parent (old side, '-') to A (new side, '+'); with B, from A to B. Highlighted on a terminal."""
    with _reader(run) as reader:
        old_id = _resolve(reader, a) if b else reader.get(_resolve(reader, a)).parent_id
        new_id = _resolve(reader, b) if b else _resolve(reader, a)
        text = reader.diff(_resolve(reader, a), new_id if b else None)
        files = reader.changed_files(_resolve(reader, a), new_id if b else None) if json_output else []
    if json_output:
        from dataclasses import asdict

        print_json({"old": old_id, "new": new_id, "files": [asdict(f) for f in files], "diff": text})
        return
    if sys.stdout.isatty():
        from rich.syntax import Syntax

        console().print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(text)


@app.command()
def best(run: RunOption = None, json_output: JsonOption = False) -> None:
    """The best agent: the highest score among those evaluated on the most tasks (see README)."""
    from dgm.cli.archive_views import agent_json, best_view

    with _reader(run) as reader:
        agent = reader.best()
        found = reader.task_count(agent.id) if agent else None
        count = found if found and found.tasks else None  # as task_counts: no entry without tasks
    if json_output:
        print_json(agent_json(agent, count) if agent else None)
    else:
        console().print(best_view(agent, count))


@app.command("export-run")
def export_run_command(
    run_dir: Annotated[Path, typer.Argument(help="The run directory to export.")],
    file: Annotated[Path, typer.Argument(help="The file to write (a .tar.gz).")],
) -> None:
    """Write a whole run (database, git bundle, logs, run.toml) as one file for another machine."""
    from dgm.archive import export_run

    done = export_run(run_dir, file)
    console().print(f"exported run {done.run_name} to {done.path} ({done.bytes:,} bytes); 'dgm archive import-run {done.path}' restores it")


@app.command("import-run")
def import_run_command(
    file: Annotated[Path, typer.Argument(help="A file written by 'dgm archive export-run'.")],
    dest: Annotated[Optional[Path], typer.Argument(help="Where to create the run (default: ./runs/<its name>).")] = None,
) -> None:
    """Recreate an exported run; then browse, compare, verify or resume it as any run."""
    from dgm.archive import import_run

    target = import_run(file, dest)
    console().print(f"imported the run to {target}; 'dgm archive verify --run {target}' checks it, 'dgm run --run {target}' resumes it")


@app.command()
def export(
    agent_id: AgentArg,
    dest: Annotated[Path, typer.Argument(help="Folder to write the agent's code to (absent or empty).")],
    run: RunOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check an agent's code out to a folder."""
    with _reader(run) as reader:
        ident = _resolve(reader, agent_id)
        reader.export(ident, dest)
    if json_output:
        print_json({"id": ident, "dest": str(dest), "files": sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())})
        return
    console(stderr=True).print(f"exported {ident} to {dest}")


@app.command()
def verify(
    run: RunOption = None,
    repair: Annotated[bool, typer.Option("--repair", help="Re-create missing refs of existing commits and recount task counts out of step with the task results (orphans are only listed).")] = False,
    json_output: JsonOption = False,
) -> None:
    """Check the database against git both ways, and agents' task counts against their task results; exit 1 when inconsistent."""
    from dgm.cli.archive_views import verify_json, verify_view

    with _reader(run) as reader:
        report = reader.verify(repair=repair)
    if repair and any(issue.kind == "wrong-task-count" for issue in report.issues):
        from dgm.archive.store import Archive  # recounting writes: only then the store

        with Archive.open(resolve_run(run)) as store:
            report = store.verify(repair=True)
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
