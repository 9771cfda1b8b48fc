"""Staged evaluation of one agent directory on one or more suites.

Per suite, tasks are taken in a seed-fixed permutation (the same for every agent, so
scores compare); stage k adds the next `stages[k].tasks` of them, and the next stage runs
only if the suite's score so far reaches the stage's threshold. Within a stage, agents run
in parallel sandboxes, then all outputs are graded in one fresh grading session. A stage
already evaluated for an identical tree on the same task set is reused, not re-run.

Cancellation: the caller sets `cancel` (from a signal handler: it only sets the event). The
waiting thread notices within a tenth of a second, stops every sandbox this process started
(the backend's hard stop; agents and graders blocked in them return at once), gives the
workers a moment to return, and raises EvalCancelled with the stages that finished.
"""

from __future__ import annotations

import functools
import random
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar

from dgm.evals.agent_run import AgentRun, run_agent
from dgm.evals.base import EvalCancelled, LLMAccess, NoLLM, StagePlan, Suite, Task, Verdict
from dgm.evals.registry import get_suite
from dgm.evals.reuse import DiskCache, dir_tree_hash, task_ids_key
from dgm.sandbox import Backend, BackendUnavailable, Limits, SandboxLostError, wait_for_backend

if TYPE_CHECKING:
    from dgm.archive.contract import EvalArchive

T = TypeVar("T")

LOG_CHARS = 200_000
STOP_WAIT = 2.0
"""Seconds a cancelled evaluation waits for its workers after its sandboxes were removed."""
OUTAGE_ATTEMPTS = 4
"""Runs of a stage the backend's outages may cut short before it counts as an infrastructure error."""


@dataclass(frozen=True)
class TaskResult:
    task_id: str
    suite: str
    stage: int
    passed: bool
    duration: float
    exit_reason: str
    """'ok' when passed; else why it failed: model-error when every model call of the task
    failed; the agent's run (timeout, oom, bad-output, agent-crash for a non-zero exit); or,
    when the agent ran cleanly, the grader's verdict (failed, no-output, timeout...)."""
    log: str = ""
    log_path: str | None = None
    reused: bool = False


@dataclass(frozen=True)
class StageResult:
    suite: str
    stage: int
    n_tasks: int
    n_passed: int
    score_so_far: float
    """The suite's score over this and the earlier stages."""
    reused: bool = False


@dataclass
class EvaluationReport:
    agent_dir: str
    tree_hash: str
    results: list[TaskResult] = field(default_factory=list)
    stages: list[StageResult] = field(default_factory=list)
    stopped_early: dict[str, int] = field(default_factory=dict)
    """suite -> index of the stage after which the plan stopped (threshold not met)."""

    @property
    def score(self) -> float:
        """Passed tasks over all tasks run (0.0 when none ran)."""
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    def suite_score(self, suite: str) -> float:
        rows = [r for r in self.results if r.suite == suite]
        return sum(r.passed for r in rows) / len(rows) if rows else 0.0

    @property
    def reused(self) -> bool:
        return bool(self.stages) and all(s.reused for s in self.stages)

    def to_dict(self, logs: bool = False) -> dict[str, Any]:
        results = [asdict(r) if logs else {k: v for k, v in asdict(r).items() if k != "log"} for r in self.results]
        return {
            "agent_dir": self.agent_dir, "tree_hash": self.tree_hash, "score": self.score,
            "suites": {s: self.suite_score(s) for s in dict.fromkeys(r.suite for r in self.results)},
            "reused": self.reused, "stages": [asdict(s) for s in self.stages],
            "stopped_early": self.stopped_early, "results": results,
        }


def stage_order(tasks: Sequence[Task], seed: int, suite: str) -> list[Task]:
    """The suite's tasks in a permutation fixed by (seed, suite name)."""
    order = sorted(tasks, key=lambda t: t.id)
    random.Random(f"{seed}:{suite}").shuffle(order)
    return order


def stage_slices(n_tasks: int, plan: StagePlan, limit: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each stage in the permutation; stages past the end are dropped."""
    total = n_tasks if limit is None else min(limit, n_tasks)
    slices, start = [], 0
    for stage in plan.stages:
        end = min(start + stage.tasks, total)
        if end <= start:
            break
        slices.append((start, end))
        start = end
    return slices


def _safe_name(task_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", task_id)


@dataclass
class _Context:
    agent_dir: Path
    backend: Backend
    llm: LLMAccess
    archive: EvalArchive | None
    agent_id: str | None
    workers: int
    limits: Limits | None
    tree_hash: str
    cache: DiskCache | None
    tick: Callable[[int], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    model_failed: Callable[[str], bool] = lambda task_id: False
    log_dir: Path | None = None
    backend_wait: float = 1800.0
    notice: Callable[[str], None] = lambda message: None


class _Stopped(Exception):
    """A stage was cut short by the cancel event (turned into EvalCancelled by evaluate)."""

    def __init__(self, abandoned: list[str]) -> None:
        self.abandoned = abandoned


def evaluate(
    agent_dir: Path,
    suites: Sequence[str | Suite],
    plan: StagePlan,
    backend: Backend,
    *,
    llm: LLMAccess | None = None,
    archive: EvalArchive | None = None,
    agent_id: str | None = None,
    workers: int = 2,
    limits: Limits | None = None,
    progress: bool = True,
    limit: int | None = None,
    cache: DiskCache | None = None,
    suite_options: Mapping[str, Mapping[str, Any]] | None = None,
    cancel: threading.Event | None = None,
    model_failed: Callable[[str], bool] | None = None,
    log_dir: Path | None = None,
    backend_wait: float = 1800.0,
    notice: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """Evaluate the agent in `agent_dir` on each suite with the staged plan.

    `limits` apply to each agent run (default: the task's own timeout); `limit` caps the
    tasks per suite. Results go to `archive` when given (with `agent_id`), else reuse goes
    through an on-disk cache. `suite_options` are passed to the suites named by string, by
    base name (e.g. {"swebench": {"image_template": ...}}).
    Setting `cancel` stops the evaluation within a few seconds.
    `model_failed(task_id)` says whether the model failed every call of the task (a model
    error, not the agent's fault); each task's log is written under `log_dir` (or the archive's logs).

    Raises: UnknownSuiteError; SandboxError when sandboxes cannot be started; EvalCancelled
    (with the partial report) when `cancel` was set; BackendUnavailable when the backend
    did not come back, or went away again (an infrastructure error, not the agent's).
    """
    agent_dir = Path(agent_dir)
    options = suite_options or {}
    resolved = [get_suite(s, **options.get(s.partition(":")[0], {})) if isinstance(s, str) else s for s in suites]
    use_archive = archive is not None and agent_id is not None
    tree = archive.tree_hash(agent_id) if archive is not None and agent_id is not None else dir_tree_hash(agent_dir)
    report = EvaluationReport(str(agent_dir), tree)
    with _progress(progress) as (bar, tick):
        ctx = _Context(agent_dir, backend, llm or NoLLM(), archive if use_archive else None, agent_id,
                       max(1, workers), limits, tree, None if use_archive else (cache or DiskCache()), tick,
                       cancel or threading.Event(), model_failed or (lambda task_id: False), log_dir,
                       backend_wait, notice or (lambda message: None))
        try:
            _run_suites(ctx, report, resolved, plan, limit, bar)
        except _Stopped as stop:
            raise EvalCancelled(report, stop.abandoned) from None
    return report


def evaluate_tasks(
    agent_dir: Path,
    suite: str | Suite,
    task_ids: Sequence[str],
    backend: Backend,
    *,
    stage: int,
    llm: LLMAccess | None = None,
    archive: EvalArchive,
    agent_id: str,
    workers: int = 1,
    limits: Limits | None = None,
) -> list[TaskResult]:
    """Evaluate an archived agent on the named tasks of one suite and record them as one
    evaluation row with the given stage number: how a scheduler spends one more task on an
    agent (the Huxley-Gödel Machine's "measure" step) outside the staged plan.

    Raises: UnknownSuiteError; KeyError for a task id the suite does not have; SandboxError.
    """
    resolved = get_suite(suite) if isinstance(suite, str) else suite
    by_id = {t.id: t for t in resolved.tasks()}
    tasks = [by_id[t] for t in task_ids]
    ctx = _Context(Path(agent_dir), backend, llm or NoLLM(), archive, agent_id, max(1, workers), limits,
                   archive.tree_hash(agent_id), None, lambda n: None)
    results, _ = _run_stage(ctx, resolved, stage, tasks)
    return results


def _run_suites(ctx: _Context, report: EvaluationReport, resolved: list[Suite], plan: StagePlan,
                limit: int | None, bar: Callable[[str, int], None]) -> None:
    for suite in resolved:
        order = stage_order(suite.tasks(), plan.seed, suite.name)
        slices = stage_slices(len(order), plan, limit)
        for k, (start, end) in enumerate(slices):
            if ctx.cancel.is_set():
                raise _Stopped([])
            bar(f"{suite.name} stage {k + 1}/{len(slices)}", end - start)
            results, reused = _run_stage(ctx, suite, k, order[start:end])
            report.results.extend(results)
            so_far = report.suite_score(suite.name)
            report.stages.append(StageResult(suite.name, k, len(results), sum(r.passed for r in results), so_far, reused))
            if k + 1 < len(slices) and so_far < plan.stages[k].min_score_to_continue:
                report.stopped_early[suite.name] = k
                break


def _run_stage(ctx: _Context, suite: Suite, stage: int, tasks: list[Task]) -> tuple[list[TaskResult], bool]:
    key = task_ids_key(t.id for t in tasks)
    reused = _reuse(ctx, suite.name, stage, key, tasks)
    if reused is not None:
        ctx.tick(len(tasks))
        return reused, True
    runs, verdicts = _across_outages(ctx, f"{suite.name} stage {stage + 1}", lambda: _run_and_grade(ctx, suite, tasks))
    results = [_result(ctx, suite.name, stage, task, run, took, verdict) for task, (run, took), verdict in zip(tasks, runs, verdicts)]
    _record(ctx, suite.name, stage, key, results, reused_from=None)
    if ctx.cache is not None:
        ctx.cache.put(ctx.tree_hash, suite.name, key, [asdict(r) for r in results])
    return results, False


def _run_and_grade(ctx: _Context, suite: Suite, tasks: list[Task]) -> tuple[list[tuple[AgentRun, float]], list[Verdict]]:
    ids = [t.id for t in tasks]
    runs = _watched(ctx, [functools.partial(_again_if_lost, _run_one, ctx, task) for task in tasks], ctx.workers, ids)
    graded = [(task, run.files) for task, (run, _) in zip(tasks, runs)]
    def grade() -> list[Verdict]:
        return _again_if_lost(suite.grade, ctx.backend, graded)

    (verdicts,) = _watched(ctx, [grade], 1, ids)
    return runs, verdicts


def _across_outages(ctx: _Context, where: str, attempt: Callable[[], Any]) -> Any:
    """`attempt()`, run again when the backend went away under it: once it answers again
    (waiting with backoff, `ctx.backend_wait` seconds in all), at most OUTAGE_ATTEMPTS times.
    A daemon shutting down still answers for a moment, so an attempt may fail again at once.

    Raises: BackendUnavailable when it does not come back in time (an infrastructure error);
    _Stopped on cancel."""
    deadline, n = 0.0, 0
    while True:
        try:
            return attempt()
        except BackendUnavailable as exc:
            n += 1
            if not deadline:
                deadline = time.monotonic() + ctx.backend_wait
                ctx.notice(f"the sandbox backend stopped answering during {where} ({exc}); "
                           f"waiting up to {ctx.backend_wait:g}s for it, then {where} runs again")
            if n == OUTAGE_ATTEMPTS:
                raise BackendUnavailable(f"the sandbox backend went away {OUTAGE_ATTEMPTS} times during {where}: "
                                         "it was not evaluated (an infrastructure error, not the agent's)") from None
            if not wait_for_backend(ctx.backend, max(0.0, deadline - time.monotonic()), ctx.cancel):
                if ctx.cancel.is_set():
                    raise _Stopped([]) from None
                raise BackendUnavailable(f"the sandbox backend did not come back within {ctx.backend_wait:g}s: "
                                         f"{where} was not evaluated (an infrastructure error, not the agent's)") from None
            ctx.notice(f"the sandbox backend answers again: {where} runs again")


def _watched(ctx: _Context, calls: list[Callable[[], Any]], workers: int, task_ids: list[str]) -> list[Any]:
    """Run `calls` on `workers` threads and return their results in order, while watching
    the cancel event: once it is set, no call starts, this process's sandboxes are removed
    (which ends the calls blocked in them), and _Stopped names the stage's tasks.

    Raises: the first call's exception, or _Stopped.
    """
    pool = ThreadPoolExecutor(workers, thread_name_prefix="dgm-eval")

    def guarded(call: Callable[[], Any]) -> Any:
        if ctx.cancel.is_set():
            raise _Stopped(task_ids)
        return call()

    futures: list[Future] = [pool.submit(guarded, call) for call in calls]
    try:
        while wait(futures, timeout=0.1).not_done:
            if ctx.cancel.is_set():
                _hard_stop(ctx, futures, task_ids)
        if ctx.cancel.is_set():  # a verdict or run finished under a kill is not trusted
            _hard_stop(ctx, futures, task_ids)
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _hard_stop(ctx: _Context, futures: list[Future], task_ids: list[str]) -> None:
    from dgm.sandbox import SandboxError

    for f in futures:
        f.cancel()
    try:
        ctx.backend.sweep(include_own=True)
    except SandboxError:
        pass  # the engine is gone too: its containers end at their own deadline
    wait(futures, timeout=STOP_WAIT)
    raise _Stopped(task_ids)


LOST_RETRIES = 3
"""How often a task run (or a stage's grading) starts again after the machine running its
sandbox was lost, before the evaluation fails as the machine's fault."""


def _again_if_lost(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)`, run again when its sandbox's machine went away (a cluster node died):
    a lost machine is never the agent's failure. Its grant and sandbox are fresh each time."""
    for attempt in range(LOST_RETRIES + 1):
        try:
            return fn(*args)
        except SandboxLostError:
            if attempt == LOST_RETRIES:
                raise
    raise AssertionError("unreachable")


def agent_limits(run_limits: Limits | None, task: Task) -> Limits:
    """The agent's limits on one task: the run-wide ones when given, with the task's own time
    when its suite set one (`Task.own_timeout`); without run-wide limits, the task's timeout."""
    if run_limits is None:
        return Limits(wall_seconds=task.timeout + 60, exec_timeout=task.timeout)
    if task.own_timeout:
        return replace(run_limits, wall_seconds=task.timeout + 60, exec_timeout=task.timeout)
    return run_limits


def _run_one(ctx: _Context, task: Task) -> tuple[AgentRun, float]:
    limits = agent_limits(ctx.limits, task)
    start = time.monotonic()
    with ctx.llm.grant(agent_id=ctx.agent_id, task_id=task.id, purpose="solve") as mounts:
        run = run_agent(ctx.backend, ctx.agent_dir, task.instruction, task.workspace, limits=limits,
                        llm_mounts=mounts, labels={"task": task.id[:60]}, environment=task.environment)
    ctx.tick(1)
    return run, time.monotonic() - start


GRADE_MARK = "\n--- grade ---\n"
"""Splits a task log: the agent's own run before it, the grader's report (which may quote
hidden tests, so it must never reach an agent) after it."""


def failure_reason(run: AgentRun, verdict: Verdict, model_failed: bool) -> str:
    """One word for why a task failed ('ok' when it passed): a model that failed every call
    first (the agent then hangs or crashes through no fault of its own), then the agent's
    run, since a grader's verdict on the output of a crashed or stopped agent says nothing new."""
    if verdict.passed:
        return "ok"
    if model_failed:
        return "model-error"
    if run.exit_reason not in ("ok", "exit"):
        return run.exit_reason
    if run.result.exit_code not in (0, None):
        return "agent-crash"
    return verdict.reason or "failed"


def _result(ctx: _Context, suite: str, stage: int, task: Task, run: AgentRun, took: float, verdict: Verdict) -> TaskResult:
    reason = failure_reason(run, verdict, ctx.model_failed(task.id))
    log = f"{run.log}{GRADE_MARK}{'passed' if verdict.passed else 'failed'}: {verdict.reason}\n{verdict.log}"[-LOG_CHARS:]
    log_path, path = None, None
    if ctx.archive is not None and ctx.agent_id is not None:
        path = Path(ctx.archive.logs_dir(ctx.agent_id)) / "eval" / suite / f"{_safe_name(task.id)}.log"
    elif ctx.log_dir is not None:
        path = ctx.log_dir / _safe_name(suite) / f"{_safe_name(task.id)}.log"
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(log, encoding="utf-8")
        log_path = str(path)
    return TaskResult(task.id, suite, stage, verdict.passed, round(took, 3), reason, log, log_path)


def _record(ctx: _Context, suite: str, stage: int, key: str, results: list[TaskResult], reused_from: int | None) -> None:
    if ctx.archive is None or ctx.agent_id is None:
        return
    eid = ctx.archive.start_evaluation(ctx.agent_id, suite, stage, len(results), reused_from=reused_from, task_key=key)
    for r in results:
        ctx.archive.add_task_result(eid, r.task_id, r.passed, r.duration, r.exit_reason, r.log_path)
    n_passed = sum(r.passed for r in results)
    ctx.archive.finish_evaluation(eid, n_passed / len(results) if results else 0.0, n_passed)


def _reuse(ctx: _Context, suite: str, stage: int, key: str, tasks: list[Task]) -> list[TaskResult] | None:
    """The stored results of an identical tree on this task set, recorded again as a reuse."""
    if ctx.archive is not None:
        found = ctx.archive.find_evaluation_by_tree(ctx.tree_hash, suite, key)
        if found is None:
            return None
        rows = ctx.archive.task_results(found.id)
        results = [TaskResult(r.task_id, suite, stage, bool(r.passed), float(r.duration), r.exit_reason,
                              log_path=r.log_path, reused=True) for r in rows]
        _record(ctx, suite, stage, key, results, reused_from=found.id)
        return results
    stored = ctx.cache.get(ctx.tree_hash, suite, key) if ctx.cache is not None else None
    if stored is None or len(stored) != len(tasks):
        return None
    return [TaskResult(**{**row, "stage": stage, "reused": True}) for row in stored]


class _progress:
    """A rich progress bar on stderr (or nothing): yields (start-a-bar, advance)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None  # a rich Progress, imported only when shown
        self.current = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            from rich.console import Console

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.progress.__enter__()
        return self.bar, self.tick

    def bar(self, description: str, total: int) -> None:
        if self.progress is not None:
            self.current = self.progress.add_task(description, total=total)

    def tick(self, n: int) -> None:
        if self.progress is not None and self.current is not None:
            self.progress.advance(self.current, n)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)
