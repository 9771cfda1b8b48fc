"""One iteration of the loop: diagnose the parent, self-modify, check the child, evaluate it.

An iteration is a job: it may run in any worker, and after a crash it is run again from the
top. It is idempotent on what it already finished: a child committed before the crash is found
by its iteration number and only its evaluation is redone.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from dgm.config import RunConfig
from dgm.loop.child import SMOKE_INSTRUCTION, SMOKE_WORKSPACE, clean_tree, invalid_reason, smoke_passed
from dgm.loop.diagnose import Diagnosis, FailedTask, diagnosis_messages, parse_diagnosis, self_modify_instruction

if TYPE_CHECKING:
    from dgm.archive.contract import RunStore
    from dgm.archive.records import AgentRecord
    from dgm.sandbox import Backend

    from dgm.llm.contract import HostGateway
    from dgm.loop.executor import Executor

CHILD = "child"
"""The job kind that makes and evaluates one child: payload {iteration, parent}."""
EVALUATE = "evaluate"
"""The job kind that evaluates an agent already committed: payload {agent, iteration, parent}."""
EVALUATE_MORE = "evaluate-more"
"""The job kind of HGM's evaluation step, one more task for an agent: payload {agent, suite, task, step}."""

STEP_EVENTS = ("step", "stage")
"""Event kinds that report an iteration's progress step (diagnose, self-modify, smoke,
evaluate; not an evaluation's `evals.Stage`). Runs made before the rename wrote "stage"."""


@dataclass(frozen=True)
class IterationOutcome:
    iteration: int
    parent_id: str
    child_id: str | None
    status: str
    """'evaluated', 'invalid' or 'no-child' (diagnosis unusable: nothing to commit)."""
    score: float | None = None
    reason: str | None = None


def _nothing() -> None:
    pass


@dataclass
class LoopContext:
    """Everything an iteration needs, assembled once by `dgm.loop.run.open_run`."""

    run_dir: Path
    config: RunConfig
    archive: RunStore
    backend: Backend
    gateway: HostGateway
    executor: Executor
    on_change: Callable[[], None] = _nothing
    """Called after each step is recorded (the live display redraws)."""

    def step(self, iteration: int, step: str, agent_id: str | None) -> None:
        """Record that an iteration reached a step: an event any reader of the archive sees."""
        self.archive.log_event("step", f"iteration {iteration}: {step}", agent_id=agent_id, data={"iteration": iteration, "step": step})
        self.on_change()

    def limits(self, wall_seconds: float) -> Any:
        from dgm.sandbox import Limits

        sb = self.config.sandbox
        return Limits(wall_seconds=wall_seconds, exec_timeout=wall_seconds, memory_mb=sb.memory_mb, pids=sb.pids, cpus=sb.cpus)


def run_iteration(ctx: LoopContext, iteration: int, parent_id: str) -> IterationOutcome:
    archive = ctx.archive
    child = find_child(archive, iteration)
    if child is None:
        outcome_or_child = make_child(ctx, iteration, parent_id)
        if isinstance(outcome_or_child, IterationOutcome):
            return outcome_or_child
        child = outcome_or_child
    if child.status == "invalid":
        return IterationOutcome(iteration, parent_id, child.id, "invalid", reason=child.status_reason)
    return evaluate_child(ctx, iteration, parent_id, child.id)


def find_child(archive: RunStore, iteration: int) -> AgentRecord | None:
    for agent in archive.agents():
        if agent.iteration == iteration and agent.origin != "seed":
            return agent
    return None


def make_child(ctx: LoopContext, iteration: int, parent_id: str) -> Any:
    """Diagnose, self-modify, check; commit the child (valid or not). Returns the child's
    record, or an IterationOutcome when there is nothing to commit."""
    from dgm.llm import ModelError

    from dgm.loop.diagnose import DiagnosisError

    archive = ctx.archive
    parent_files = archive.read_tree(parent_id)
    ctx.step(iteration, "diagnose", None)
    try:
        diagnosis, exchange = diagnose(ctx, iteration, parent_id, parent_files)
    except (ModelError, DiagnosisError) as exc:  # garbage from the model is the parent's bad luck, not a crash
        archive.log_event("diagnosis-failed", f"iteration {iteration}: {exc}", agent_id=parent_id)
        return IterationOutcome(iteration, parent_id, None, "no-child", reason=str(exc))

    ctx.step(iteration, "self-modify", None)
    child_files, transcript = self_modify(ctx, iteration, parent_id, parent_files, diagnosis)
    # a budget that ran out mid-way leaves a half-made child: make nothing of it
    ctx.gateway.budget.check(agent_id=parent_id, task_id=f"self-modify/{iteration}", iteration=iteration, step="self-modify")
    reason = invalid_reason(parent_files, child_files)
    smoke_log = ""
    if reason is None:
        ctx.step(iteration, "smoke", None)
        passed, smoke_log = smoke_test(ctx, iteration, parent_id, child_files)
        reason = None if passed else "failed the smoke task (could not edit a file as instructed)"
    from dgm.loop.replay import replay_meta, write_diagnosis_log

    meta = {**diagnosis.as_meta(), "meta_agent": ctx.config.loop.meta_agent, "replay": replay_meta(ctx, iteration, parent_id)}
    child = archive.add_child(
        parent_id,
        child_files,
        iteration=iteration,
        status="invalid" if reason else "pending",
        status_reason=reason,
        meta=meta,
    )
    logs = archive.logs_dir(child.id)
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "self-modify.log").write_text(transcript, encoding="utf-8")
    write_diagnosis_log(logs, *exchange)
    if smoke_log:
        (logs / "smoke.log").write_text(smoke_log, encoding="utf-8")
    archive.log_event("child", f"iteration {iteration}: {child.id} from {parent_id}" + (f" is invalid: {reason}" if reason else ""), agent_id=child.id)
    return child


def diagnose(
    ctx: LoopContext, iteration: int, parent_id: str, parent_files: Mapping[str, bytes]
) -> tuple[Diagnosis, tuple[list[dict], str]]:
    """The parsed diagnosis, and the exchange it came from (prompt messages, answer) for the
    child's replay record."""
    failures = recent_failures(ctx.archive, parent_id, ctx.config.loop.diagnose_failures)
    messages = diagnosis_messages(parent_files, failures, ctx.gateway.host_prompt_chars())
    completion = ctx.gateway.complete_for_host(
        messages, agent_id=parent_id, purpose="diagnose", task_id=f"diagnose/{iteration}", iteration=iteration, step="diagnose",
    )
    answer = completion.content or ""
    return parse_diagnosis(answer), (messages, answer)


def recent_failures(archive: RunStore, agent_id: str, limit: int) -> list[FailedTask]:
    failures: list[FailedTask] = []
    for evaluation in reversed(archive.evaluations(agent_id)):
        for result in archive.task_results(evaluation.id):
            if result.passed or len(failures) >= limit:
                continue
            log = ""
            if result.log_path and Path(result.log_path).is_file():
                log = Path(result.log_path).read_text(encoding="utf-8", errors="replace")
            failures.append(FailedTask(result.task_id, agent_side(log, result.exit_reason)))
    return failures


def agent_side(log: str, exit_reason: str) -> str:
    """What the agent did, and only that the grader said no: the grader's report can quote
    hidden tests, which must not reach the agent that rewrites itself (through the diagnosis)."""
    from dgm.evals import GRADE_MARK

    own = log.split(GRADE_MARK, 1)[0]
    return f"{own}\n--- graded: failed ({exit_reason}); the hidden tests are not shown ---"


def meta_agent_dir(ctx: LoopContext, parent_files: Mapping[str, bytes], scratch: Path) -> Path:
    """The code that performs the self-modification: the parent itself (DGM mode) or a fixed
    meta agent: the run's seed agent ('seed') or a directory named in the config."""
    if ctx.config.loop.meta_agent == "seed":
        seed = next(a for a in ctx.archive.agents() if a.origin == "seed")
        parent_files = ctx.archive.read_tree(seed.id)
    elif ctx.config.loop.meta_agent != "self":
        return Path(ctx.config.loop.meta_agent)
    agent_dir = scratch / "meta-agent"
    for path, data in parent_files.items():
        target = agent_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return agent_dir


def run_in_sandbox(
    ctx: LoopContext, agent_dir: Path, instruction: str, workspace: Mapping[str, bytes], *,
    agent_id: str, task_id: str, purpose: str, wall_seconds: float, iteration: int, step: str,
) -> tuple[dict[str, bytes], str]:
    """Run an agent in a sandbox for a making step; its calls are recorded under `agent_id`
    (the parent) with the child's `iteration` and `step`."""
    from dgm.evals import run_agent

    with ctx.gateway.grant(agent_id=agent_id, task_id=task_id, purpose=purpose, iteration=iteration, step=step) as mounts:
        run = run_agent(
            ctx.backend, agent_dir, instruction, workspace,
            limits=ctx.limits(wall_seconds), llm_mounts=mounts,
            labels={"run": ctx.config.name},
        )
    log = f"exit: {run.result.exit_reason} ({run.result.exit_code}) in {run.result.duration:.1f}s\n{run.log}"
    return clean_tree(run.files), log


def self_modify(
    ctx: LoopContext, iteration: int, parent_id: str, parent_files: Mapping[str, bytes], diagnosis: Diagnosis
) -> tuple[dict[str, bytes], str]:
    with tempfile.TemporaryDirectory(prefix="dgm-meta-") as scratch:
        agent_dir = meta_agent_dir(ctx, parent_files, Path(scratch))
        return run_in_sandbox(
            ctx, agent_dir, self_modify_instruction(diagnosis), parent_files,
            agent_id=parent_id, task_id=f"self-modify/{iteration}", purpose="self-modify",
            wall_seconds=ctx.config.loop.self_modify_timeout, iteration=iteration, step="self-modify",
        )


def smoke_test(ctx: LoopContext, iteration: int, parent_id: str, child_files: Mapping[str, bytes]) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="dgm-smoke-") as scratch:
        agent_dir = Path(scratch) / "agent"
        for path, data in child_files.items():
            (agent_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (agent_dir / path).write_bytes(data)
        files, log = run_in_sandbox(
            ctx, agent_dir, SMOKE_INSTRUCTION, SMOKE_WORKSPACE,
            agent_id=parent_id, task_id=f"smoke/{iteration}", purpose="solve", wall_seconds=180, iteration=iteration, step="smoke",
        )
    return smoke_passed(files), log


def evaluate_child(ctx: LoopContext, iteration: int, parent_id: str, child_id: str) -> IterationOutcome:
    from dgm.evals import Stage, StagePlan, evaluate

    archive = ctx.archive
    ctx.gateway.budget.check(agent_id=child_id, task_id=None)
    ctx.step(iteration, "evaluate", child_id)
    archive.set_status(child_id, "evaluating")
    plan = StagePlan(tuple(Stage(s.tasks, s.min_score) for s in ctx.config.eval.stages), seed=ctx.config.eval.seed)
    with tempfile.TemporaryDirectory(prefix="dgm-eval-") as scratch:
        agent_dir = Path(scratch) / "agent"
        archive.export(child_id, agent_dir)
        report = evaluate(
            agent_dir, ctx.config.eval.suites, plan, ctx.backend,
            llm=ctx.gateway.for_iteration(iteration), archive=archive, agent_id=child_id,
            workers=ctx.config.eval.workers, limits=ctx.limits(ctx.config.eval.task_timeout), progress=False,
            suite_options=ctx.config.suite_options(),
            backend_wait=0.0,  # a backend outage is the daemon's to wait out (dgm.loop.outage), not one job's
        )
    archive.set_score(child_id, report.score)
    archive.set_status(child_id, "evaluated")
    archive.log_event("evaluated", f"{child_id} scored {report.score:.3f}", agent_id=child_id, data={"score": report.score})
    return IterationOutcome(iteration, parent_id, child_id, "evaluated", score=report.score)
