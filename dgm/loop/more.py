"""One more task for an existing agent, and the HGM step that decides when to spend it.

With `selection = "hgm"` each step of the daemon either makes a child (a 'child' job, as with
every rule) or queues an 'evaluate-more' job: one task, chosen now and named in the job's
payload, that the agent has not been evaluated on yet, taken in the same seed-fixed order as
the staged plan. The job records a one-task evaluation row (stage number EXTRA_STAGE) and
updates the agent's score to passed / tasks over everything it was evaluated on. Re-running
the job after a crash finds the task in a finished evaluation and only sets the score again
(the crash may have come before it); a one-task evaluation the crash left unfinished does not
count (as a crashed stage does not), so the task is evaluated again.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from dgm.loop.iteration import CHILD, EVALUATE_MORE
from dgm.loop.selection import Candidate, hgm, selection_rng

if TYPE_CHECKING:
    from dgm.archive.contract import RunStore
    from dgm.config import RunConfig
    from dgm.loop.iteration import LoopContext

EXTRA_STAGE = 99
"""Stage number of the evaluation rows an 'evaluate-more' job writes (outside the plan)."""


@dataclass(frozen=True)
class MoreOutcome:
    agent_id: str
    suite: str
    task_id: str
    passed: bool | None
    """None when the task had been recorded already (a re-run after a crash)."""
    score: float | None


class TaskOrders:
    """Each suite's task ids in the staged plan's seed-fixed order, loaded once."""

    def __init__(self, config: "RunConfig"):
        from dgm.evals import get_suite, stage_order

        self.orders: dict[str, list[str]] = {}
        self.names: dict[str, str] = {}
        """Suite in the config ('custom:PATH') -> the name its evaluations record ('custom-x')."""
        for name in config.eval.suites:
            suite = get_suite(name, **config.options_for(name))
            self.names[name] = suite.name
            self.orders[name] = [t.id for t in stage_order(suite.tasks(), config.eval.seed, suite.name)]

    @property
    def total(self) -> int:
        return sum(len(order) for order in self.orders.values())

    def next_task(self, done: set[tuple[str, str]]) -> tuple[str, str] | None:
        """The first task not in `done` of the suite with the fewest done tasks. `done` names a
        suite as its evaluations record it or as the config does (a queued job's payload)."""
        def is_done(suite: str, task: str) -> bool:
            return (suite, task) in done or (self.names[suite], task) in done

        by_progress = sorted(self.orders, key=lambda s: sum(1 for task in self.orders[s] if is_done(s, task)))
        for suite in by_progress:
            for task in self.orders[suite]:
                if not is_done(suite, task):
                    return suite, task
        return None


def done_tasks(archive: RunStore, agent_id: str) -> set[tuple[str, str]]:
    """(suite, task id) the agent was evaluated on, or that a queued job will evaluate."""
    done = {(e.suite, r.task_id) for e in archive.evaluations(agent_id) for r in archive.task_results(e.id)}
    for job in archive.jobs():
        if job.kind == EVALUATE_MORE and job.state in ("queued", "running") and job.payload["agent"] == agent_id:
            done.add((job.payload["suite"], job.payload["task"]))
    return done


def run_nodes(archive: RunStore) -> list[Candidate]:
    """Every agent of the run with its own pass counts: the tree HGM's clade estimate reads."""
    counts = archive.task_counts()
    children = archive.children_counts()
    nodes = []
    for agent in archive.agents():
        passed, tasks = counts.get(agent.id, (0, 0))
        score = agent.score if agent.score is not None else 0.0
        nodes.append(Candidate(agent.id, score, children.get(agent.id, 0), parent_id=agent.parent_id, passed=passed, tasks=tasks))
    return nodes


def hgm_step(ctx: "LoopContext", eligible_ids: Sequence[str], orders: TaskOrders) -> hgm.Decision:
    """Decide and queue one HGM step; returns the decision (a 'child' job is queued for an
    expansion, an 'evaluate-more' job otherwise).

    Raises: SelectionError when there is nothing to expand.
    """
    archive, config = ctx.archive, ctx.config
    jobs = [j for j in archive.jobs() if j.kind in (CHILD, EVALUATE_MORE)]
    step = 1 + len(jobs)
    children = sum(1 for j in jobs if j.kind == CHILD)
    nodes = run_nodes(archive)
    by_id = {n.id: n for n in nodes}
    measurable = {a.id for a in archive.agents() if a.status == "evaluated"}
    left = {n.id: orders.total - n.tasks for n in nodes if n.id in measurable}
    eligible = [by_id[i] for i in eligible_ids if i in by_id]
    params = hgm.HgmParams(config.hgm.alpha, config.hgm.cool_down, config.hgm.beta, config.hgm.budget_tasks, config.hgm.clade)
    decision = hgm.decide(nodes, eligible, left, children, selection_rng(config.seed, step), params)
    if decision.action == hgm.EXPAND:
        iteration = 1 + max((j.payload["iteration"] for j in jobs if j.kind == CHILD), default=0)
        archive.enqueue_job(CHILD, {"iteration": iteration, "parent": decision.agent_id, "step": step}, agent_id=decision.agent_id)
        archive.log_event("selected", f"iteration {iteration}: parent {decision.agent_id} (hgm, step {step})", agent_id=decision.agent_id)
        return decision
    found = orders.next_task(done_tasks(archive, decision.agent_id))
    if found is None:  # raced with another job for the agent's last task: make a child instead
        return hgm_step_expand_only(ctx, eligible, nodes, step, jobs)
    suite, task = found
    archive.enqueue_job(EVALUATE_MORE, {"agent": decision.agent_id, "suite": suite, "task": task, "step": step}, agent_id=decision.agent_id)
    archive.log_event("selected", f"step {step}: one more task for {decision.agent_id} ({suite}/{task})", agent_id=decision.agent_id)
    return decision


def hgm_step_expand_only(ctx: "LoopContext", eligible: list[Candidate], nodes: list[Candidate], step: int, jobs: list[Any]) -> hgm.Decision:
    parent = hgm.choose_parent(eligible, nodes, selection_rng(ctx.config.seed, step), clade=ctx.config.hgm.clade)
    iteration = 1 + max((j.payload["iteration"] for j in jobs if j.kind == CHILD), default=0)
    ctx.archive.enqueue_job(CHILD, {"iteration": iteration, "parent": parent.id, "step": step}, agent_id=parent.id)
    return hgm.Decision(hgm.EXPAND, parent.id)


def evaluate_more(ctx: "LoopContext", agent_id: str, suite: str, task_id: str) -> MoreOutcome:
    """Evaluate the agent on one more task and re-score it over all its tasks.

    Raises: BudgetExhausted; SandboxError; UnknownSuiteError.
    """
    from dgm.evals import evaluate_tasks, get_suite

    archive = ctx.archive
    resolved = get_suite(suite, **ctx.config.options_for(suite))  # its records carry resolved.name
    finished = [e for e in archive.evaluations(agent_id) if e.finished_at is not None]
    if (resolved.name, task_id) in {(e.suite, r.task_id) for e in finished for r in archive.task_results(e.id)}:
        return MoreOutcome(agent_id, suite, task_id, None, rescore(archive, agent_id))
    ctx.gateway.budget.check(agent_id=agent_id, task_id=None)
    with tempfile.TemporaryDirectory(prefix="dgm-more-") as scratch:
        agent_dir = Path(scratch) / "agent"
        archive.export(agent_id, agent_dir)
        (result,) = evaluate_tasks(
            agent_dir, resolved, [task_id], ctx.backend, stage=EXTRA_STAGE, llm=ctx.gateway, archive=archive,
            agent_id=agent_id, limits=ctx.limits(ctx.config.eval.task_timeout),
        )
    score = rescore(archive, agent_id)
    count = archive.task_counts()[agent_id]
    archive.log_event(
        "evaluated-more", f"{agent_id}: {suite}/{task_id} {'passed' if result.passed else 'failed'}; "
        f"{count.passed}/{count.tasks} = {score:.3f}", agent_id=agent_id, data={"score": score, "tasks": count.tasks},
    )
    return MoreOutcome(agent_id, suite, task_id, result.passed, score)


def rescore(archive: RunStore, agent_id: str) -> float:
    """Set the agent's score to passed / tasks over every task it was evaluated on."""
    count = archive.task_counts()[agent_id]
    score = count.passed / count.tasks
    archive.set_score(agent_id, score)
    return score
