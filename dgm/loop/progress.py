"""What a run is doing, read from the archive alone: the daemon's live view and `dgm status`
show the same snapshot, so another terminal sees exactly what the daemon sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dgm.config import RunConfig
from dgm.loop.iteration import CHILD, EVALUATE, STEP_EVENTS

if TYPE_CHECKING:
    from dgm.archive.contract import RunView


@dataclass(frozen=True)
class InFlight:
    iteration: int
    parent_id: str
    step: str
    attempts: int
    child_id: str | None = None
    """The child being made or evaluated, once it has an id."""


@dataclass(frozen=True)
class Snapshot:
    run_name: str
    dry_run: bool
    agents: int
    valid: int
    invalid: int
    children_started: int
    best_id: str | None
    best_score: float | None
    spend_usd: float
    spend_tokens: int
    budget_usd: float
    budget_tokens: int
    in_flight: list[InFlight] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(full ISO time, kind, message), newest last."""
    note: str = ""
    best_tasks: int = 0
    """Distinct tasks the best score rests on."""
    best_ci95: tuple[float, float] | None = None
    """95% Wilson interval of the best score (None with no tasks)."""
    evaluating: list[str] = field(default_factory=list)
    """Agents being evaluated outside any child job (the seed at a run's start)."""


def take_snapshot(archive: RunView, config: RunConfig, note: str = "", n_events: int = 8) -> Snapshot:
    agents = archive.agents()
    jobs = archive.jobs()
    events = archive.events(limit=200)
    step_of: dict[int, str] = {}
    child_of: dict[int, str] = {}
    for event in events:  # oldest first: later steps overwrite earlier ones
        if event.kind in STEP_EVENTS and isinstance(event.data, dict):
            step = event.data.get("step", event.data.get("stage", ""))  # "stage": runs before the rename
            step_of[int(event.data.get("iteration", -1))] = str(step)
            if event.agent_id:
                child_of[int(event.data.get("iteration", -1))] = event.agent_id
    in_flight = [
        InFlight(job.payload["iteration"], job.payload["parent"], step_of.get(job.payload["iteration"], "starting"), job.attempts,
                 child_of.get(job.payload["iteration"]))
        for job in jobs
        if job.state == "running" and job.kind in (CHILD, EVALUATE)
    ]
    busy = {f.child_id for f in in_flight}
    best = archive.best()
    stat = archive.score_stat(best) if best else None
    spend = archive.spend()
    shown = [e for e in events if e.kind not in STEP_EVENTS][-n_events:]
    return Snapshot(
        run_name=config.name,
        dry_run=config.model.is_dry_run,
        agents=len(agents),
        valid=sum(a.status == "evaluated" for a in agents),
        invalid=sum(a.status == "invalid" for a in agents),
        children_started=sum(job.kind == CHILD for job in jobs),
        best_id=best.id if best else None,
        best_score=best.score if best else None,
        spend_usd=spend.usd,
        spend_tokens=spend.prompt_tokens + spend.completion_tokens,
        budget_usd=config.budget.usd_total,
        budget_tokens=config.budget.tokens_total,
        in_flight=sorted(in_flight, key=lambda f: f.iteration),
        events=[(str(e.created_at), e.kind, e.message) for e in shown],
        note=note,
        best_tasks=stat.tasks if stat else 0,
        best_ci95=(stat.low, stat.high) if stat and stat.low is not None and stat.high is not None else None,
        evaluating=[a.id for a in agents if a.status == "evaluating" and a.id not in busy],
    )


def render_snapshot(snap: Snapshot) -> Any:
    """A rich renderable of the snapshot (pure: data in, renderable out)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    def budget(spent: float, limit: float, fmt: str) -> str:
        return fmt.format(spent) + (f" of {fmt.format(limit)}" if limit else " (no limit)")

    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("run", snap.run_name + ("   [DRY RUN: scripted model, agents do not improve]" if snap.dry_run else ""))
    head.add_row("agents", f"{snap.agents} ({snap.valid} evaluated, {snap.invalid} invalid); {snap.children_started} children started")
    best = "none yet"
    if snap.best_id is not None and snap.best_score is not None:
        interval = f" [{snap.best_ci95[0]:.2f}, {snap.best_ci95[1]:.2f}]" if snap.best_ci95 else ""
        best = f"{snap.best_id}  {snap.best_score:.3f}{interval} n={snap.best_tasks}"
    head.add_row("best", best)
    prices = "  (scripted model: made-up prices)" if snap.dry_run else ""
    head.add_row("spend", budget(snap.spend_usd, snap.budget_usd, "${:.4f}") + "   tokens " + budget(snap.spend_tokens, snap.budget_tokens, "{:,}") + prices)
    if snap.note:
        head.add_row("note", Text(snap.note, style="yellow"))

    flight = Table(title="children in flight", title_justify="left", expand=False)
    for column in ("iteration", "child", "parent", "step", "attempt"):
        flight.add_column(column)
    for item in snap.in_flight:
        flight.add_row(str(item.iteration), item.child_id or "(being made)", item.parent_id, item.step, str(item.attempts))
    for agent_id in snap.evaluating:
        flight.add_row("-", agent_id, "-", "evaluate", "-")
    if not snap.in_flight and not snap.evaluating:
        flight.add_row("-", "-", "-", "idle", "-")

    events = Table(title="recent events", title_justify="left", show_header=False, box=None)
    for when, kind, message in snap.events:
        events.add_row(when[11:19], kind, message)
    return Panel(Group(head, Text(""), flight, Text(""), events), title="dgm", expand=False)
