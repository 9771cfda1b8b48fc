"""The daemon: keeps N jobs in flight until a stop condition, and survives anything.

The jobs table is the truth about what is in flight. Each child is one job whose payload names
its iteration and parent; each evaluation left over (the seed of a new run, a child whose
evaluation failed) is one job naming the agent. A crash leaves jobs 'running', and the next
start re-queues them and runs them again (iterations are idempotent on what they finished).
Sandboxes of a crashed run are swept by label at start. Jobs run on the run's executor.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dgm.loop.iteration import CHILD, EVALUATE, EVALUATE_MORE, IterationOutcome, LoopContext, evaluate_child, run_iteration
from dgm.loop.outage import Outage
from dgm.loop.selection import Candidate, select_parent, selection_rng

if TYPE_CHECKING:
    from dgm.archive import Job
    from dgm.archive.contract import RunView
    from dgm.loop.more import TaskOrders

UNEVALUATED = ("pending", "evaluating")
LOST_ATTEMPTS = 3
"""Attempts of a job whose sandbox's machine was lost before the job fails."""


@dataclass
class StopConditions:
    max_iterations: int = 0
    """Total children in the run (0: no limit)."""
    more_iterations: int = 0
    """Children to start in this invocation (0: no limit)."""
    max_usd: float = 0.0
    max_seconds: float = 0.0


@dataclass
class LiveState:
    """What only this process knows; everything else the display reads from the archive."""

    finished: list[IterationOutcome] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    stopping: str = ""
    backend_gone: bool = False
    """The run stopped because its sandboxes' machine (Docker, the Ray cluster) did not come
    back: `dgm run` exits non-zero, so a supervisor sees it."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def child_jobs(archive: RunView) -> list[Job]:
    return [job for job in archive.jobs() if job.kind == CHILD]


class Daemon:
    def __init__(self, ctx: LoopContext, stop: StopConditions):
        self.ctx = ctx
        self.stop = stop
        self.state = LiveState()
        self.signals = 0
        self._evaluations_left = True
        self.outage = Outage(ctx.backend, ctx.archive, ctx.config.sandbox.outage_wait_minutes * 60)
        self._orders: TaskOrders | None = None
        """HGM only: each suite's task order, loaded on the first step."""

    # -- signals ----------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signals += 1
        if self.signals == 1:
            self.state.stopping = "draining: finishing children in flight (signal again to stop now)"
            self.ctx.archive.log_event("signal", "stop requested: draining")
            self.ctx.on_change()
        else:
            raise KeyboardInterrupt  # stop now; running jobs stay 'running' and resume later

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> list[IterationOutcome]:
        archive, executor = self.ctx.archive, self.ctx.executor
        requeued = archive.requeue_running()
        swept = self.ctx.backend.sweep(self.ctx.config.name)
        if requeued or swept:
            archive.log_event("resume", f"re-queued {requeued} job(s), removed {swept} leftover sandbox(es)")
        self._enqueue_pending_evaluations()
        started_here = 0
        futures: dict[Future[None], Job] = {}
        fatal: Exception | None = None
        try:
            while True:
                while len(futures) < executor.slots and not self.state.stopping and not self.outage.active:
                    job = self._claim()
                    if job is None:
                        if any(j.kind == EVALUATE for j in futures.values()):
                            break  # a parent is chosen only once every score it may pick from is in
                        reason = self._stop_reason(started_here)
                        if reason:
                            self.state.stopping = reason
                            break
                        started_here += self._enqueue_next_child()
                        continue
                    futures[executor.submit(self._run_job, job)] = job
                if not futures:
                    if fatal is not None:
                        raise fatal
                    if self.outage.active and not self.state.stopping:
                        reason = self.outage.wait(lambda: bool(self.state.stopping))
                        if not reason:
                            self._evaluations_left = True  # the re-queued jobs may be evaluations (the seed's)
                            continue
                        self.state.backend_gone = not self.state.stopping
                        self.state.stopping = self.state.stopping or reason
                    break
                done, _ = wait(futures, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    futures.pop(future)
                    try:
                        future.result()  # a job records its own failures; what it raises is fatal
                    except Exception as exc:  # the machine or the daemon is broken: start nothing, drain
                        if fatal is None:
                            fatal = exc
                            self.state.stopping = f"stopping: {exc}"
                self.ctx.on_change()
        except BaseException:
            executor.abandon()
            raise
        return self.state.finished

    def _claim(self) -> Job | None:
        """The next queued job: evaluations left over first (parents are chosen by score), then
        children. Evaluation jobs are queued only at start, so once none is left none comes."""
        if self._evaluations_left:
            job = self.ctx.archive.claim_job([EVALUATE])
            if job is not None:
                return job
            self._evaluations_left = False
        return self.ctx.archive.claim_job([CHILD, EVALUATE_MORE])

    def _stop_reason(self, started_here: int) -> str:
        stop, archive = self.stop, self.ctx.archive
        children = len(child_jobs(archive))
        if stop.max_iterations and children >= stop.max_iterations:
            return f"reached {stop.max_iterations} iterations (max_iterations in run.toml; 0 means no limit)"
        if stop.more_iterations and started_here >= stop.more_iterations:
            return f"started {stop.more_iterations} iteration(s) in this invocation"
        if stop.max_usd and archive.spend().usd >= stop.max_usd:
            return f"spent the budget of ${stop.max_usd:.2f}"
        if stop.max_seconds and time.monotonic() - self.state.started_at >= stop.max_seconds:
            return "reached the wall-time limit"
        return ""

    def _candidates(self) -> list[Candidate]:
        from dgm.review import is_eligible_parent, latest_verdicts

        archive = self.ctx.archive
        verdicts = latest_verdicts(archive.reviews())
        require = self.ctx.config.loop.require_approval
        novelty = self.ctx.config.loop.selection == "novelty"
        cands = []
        for agent in archive.parent_candidates():
            if not is_eligible_parent(agent, verdicts, require):
                continue
            code = ""
            if novelty:
                code = "\n".join(d.decode("utf-8", "replace") for p, d in sorted(archive.read_tree(agent.id).items()) if p.endswith(".py"))
            cands.append(Candidate(agent.id, agent.score, agent.children, code))
        return cands

    def _enqueue_next_child(self) -> int:
        """Queue the next step; returns the children it queued (an HGM step may queue a
        task evaluation instead)."""
        archive = self.ctx.archive
        if self.ctx.config.loop.selection == "hgm":
            from dgm.loop.more import TaskOrders, hgm_step

            self._orders = self._orders or TaskOrders(self.ctx.config)
            return int(hgm_step(self.ctx, [c.id for c in self._candidates()], self._orders).action == "expand")
        iteration = 1 + max((job.payload["iteration"] for job in child_jobs(archive)), default=0)
        rng = selection_rng(self.ctx.config.seed, iteration)
        parent = select_parent(self._candidates(), self.ctx.config.loop.selection, rng)
        archive.enqueue_job(CHILD, {"iteration": iteration, "parent": parent.id}, agent_id=parent.id)
        archive.log_event("selected", f"iteration {iteration}: parent {parent.id} (score {parent.score:.3f})", agent_id=parent.id)
        return 1

    def _run_job(self, job: Job) -> None:
        from dgm.sandbox import BackendLost, MachineFault, NoBackendError, SandboxStartError

        from dgm.errors import BudgetExhausted
        from dgm.llm import ScriptExhausted

        if job.kind == EVALUATE_MORE:
            return self._run_more_job(job)
        archive = self.ctx.archive
        iteration, parent = job.payload["iteration"], job.payload["parent"]
        try:
            outcome = self._attempt(job, iteration, parent)
        except BackendLost:
            raise  # nothing runs here any more: the run stops; the job stays 'running' and resumes later
        except MachineFault as exc:  # not the agent's failure: the job stays 'running' until re-queued
            if not self.outage.gives_up(job.attempts):
                self.outage.report(iteration, exc)
                return
            archive.finish_job(job.id, ok=False, error=f"sandbox lost {job.attempts} times: {exc}")
            archive.log_event("job-failed", f"iteration {iteration}: its sandbox was lost {job.attempts} times ({exc})")
            outcome = IterationOutcome(iteration, parent, None, "failed", reason=str(exc))
        except (NoBackendError, SandboxStartError, ScriptExhausted):
            raise  # the machine (or the test's script) is broken: stop loudly; the job resumes later
        except BudgetExhausted as exc:
            archive.finish_job(job.id, ok=False, error=f"budget: {exc}")
            archive.log_event("budget", f"iteration {iteration}: {exc}; no new work starts")
            self.state.stopping = f"budget spent: {exc}"
            outcome = IterationOutcome(iteration, parent, None, "failed", reason=str(exc))
        except Exception as exc:
            archive.finish_job(job.id, ok=False, error=f"{type(exc).__name__}: {exc}")
            archive.log_event("job-failed", f"iteration {iteration}: {type(exc).__name__}: {exc}")
            outcome = IterationOutcome(iteration, parent, None, "failed", reason=str(exc))
        else:
            archive.finish_job(job.id, ok=True)
        with self.state.lock:
            self.state.finished.append(outcome)

    def _run_more_job(self, job: Job) -> None:
        from dgm.sandbox import BackendLost, MachineFault, NoBackendError, SandboxStartError

        from dgm.errors import BudgetExhausted
        from dgm.llm import ScriptExhausted
        from dgm.loop.more import evaluate_more

        p = job.payload
        try:
            evaluate_more(self.ctx, p["agent"], p["suite"], p["task"])
        except BackendLost:
            raise
        except MachineFault as exc:  # as for a child: re-queued when the backend is back
            if not self.outage.gives_up(job.attempts):
                self.outage.report(0, exc, what=f"step {p.get('step')}")
                return
            self.ctx.archive.finish_job(job.id, ok=False, error=f"sandbox lost {job.attempts} times: {exc}")
        except (NoBackendError, SandboxStartError, ScriptExhausted):
            raise
        except BudgetExhausted as exc:
            self.ctx.archive.finish_job(job.id, ok=False, error=f"budget: {exc}")
            self.state.stopping = f"budget spent: {exc}"
        except Exception as exc:
            self.ctx.archive.finish_job(job.id, ok=False, error=f"{type(exc).__name__}: {exc}")
            self.ctx.archive.log_event("job-failed", f"step {p.get('step')}: {type(exc).__name__}: {exc}", agent_id=p["agent"])
        else:
            self.ctx.archive.finish_job(job.id, ok=True)

    def _attempt(self, job: Job, iteration: int, parent: str) -> IterationOutcome:
        """The job, run again (it is idempotent on what it finished) while the machine running
        one of its sandboxes is lost: a lost cluster node is never the agent's failure."""
        from dgm.sandbox import SandboxLostError

        for attempt in range(LOST_ATTEMPTS):
            try:
                if job.kind == EVALUATE:
                    return self._evaluate(job.payload["agent"], iteration, parent)
                return run_iteration(self.ctx, iteration, parent)
            except SandboxLostError as exc:
                if attempt + 1 == LOST_ATTEMPTS:
                    raise
                self.ctx.archive.log_event("sandbox-lost", f"iteration {iteration}: {exc}; running it again")
        raise AssertionError("unreachable")

    def _evaluate(self, agent_id: str, iteration: int, parent: str) -> IterationOutcome:
        agent = self.ctx.archive.get(agent_id)
        if agent.status not in UNEVALUATED:  # finished by an earlier attempt: never twice
            return IterationOutcome(iteration, parent, agent_id, agent.status, score=agent.score)
        return evaluate_child(self.ctx, iteration, parent, agent_id)

    def _enqueue_pending_evaluations(self) -> None:
        """Agents committed but not (fully) evaluated become evaluation jobs: the seed of a new
        run, or a child whose evaluation failed. A child whose own job is queued again (after a
        crash) is evaluated by that job, and an agent gets at most one queued evaluation."""
        archive = self.ctx.archive
        jobs = archive.jobs(state="queued")
        covered = {job.payload["agent"] for job in jobs if job.kind == EVALUATE}
        queued_iterations = {job.payload["iteration"] for job in jobs if job.kind == CHILD}
        for agent in archive.agents():
            if agent.status in UNEVALUATED and agent.iteration not in queued_iterations and agent.id not in covered:
                payload = {"agent": agent.id, "iteration": agent.iteration, "parent": agent.parent_id or ""}
                archive.enqueue_job(EVALUATE, payload, agent_id=agent.id)
