"""`dgm eval AGENT_DIR --suite S`: evaluate one agent directory, no run needed."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dgm.cli.common import JsonOption, console, print_json

app = typer.Typer(add_completion=False, help="Evaluate one agent directory on suites, no run needed.")


def results_table(report: Any) -> Any:
    """The per-task table and the scores (a pure view, rendered by the caller)."""
    from rich.table import Table

    table = Table(title=f"{report.agent_dir}  score {report.score:.3f}" + ("  (reused)" if report.reused else ""))
    widest = max((len(r.task_id) for r in report.results), default=4)
    table.add_column("task", no_wrap=True, min_width=min(widest, 48))  # ids stay whole; the log path folds
    for column in ("stage", "passed", "reason", "seconds", "log"):
        table.add_column(column, justify="right" if column in ("stage", "seconds") else "left", overflow="fold")
    for r in report.results:
        table.add_row(r.task_id, str(r.stage + 1), "yes" if r.passed else "no", r.exit_reason + (" (reused)" if r.reused else ""),
                      f"{r.duration:.1f}", r.log_path or "")
    return table


def scores_table(report: Any) -> Any:
    from rich.table import Table

    table = Table(title="scores")
    for column in ("suite", "stage", "tasks", "passed", "score so far", "reused"):
        table.add_column(column)
    for s in report.stages:
        table.add_row(s.suite, str(s.stage + 1), str(s.n_tasks), str(s.n_passed), f"{s.score_so_far:.3f}", "yes" if s.reused else "")
    for suite, stage in report.stopped_early.items():
        table.add_row(suite, f"stopped after {stage + 1}", "", "", "", "")
    return table


def swebench_options(image_template: str | None, task_timeout: float | None) -> dict[str, dict[str, Any]] | None:
    """Options of swebench:FILE suites from the command line: --task-timeout is their agent's
    time too (a swebench task's own timeout otherwise wins over the run-wide limits)."""
    options: dict[str, Any] = {"image_template": image_template} if image_template else {}
    if task_timeout is not None:
        options["timeout"] = task_timeout
    return {"swebench": options} if options else None


def logs_dir() -> Path:
    """Where this evaluation writes each task's log: a fresh directory in the cache."""
    import time

    from dgm.evals.reuse import cache_root

    (cache_root() / "logs").mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=cache_root() / "logs"))


def task_limits(task_timeout: float | None) -> Any:
    """Per-run limits for --task-timeout (None: each task's own). The session's wall time
    leaves room for copying the workspace in and out."""
    if task_timeout is None:
        return None
    from dgm.sandbox import Limits

    return Limits(wall_seconds=task_timeout + 20, exec_timeout=task_timeout)


def stopped(exc: Any, signame: str, json_out: bool, model: str | None, spent: float) -> None:
    """One line on stderr saying what finished and what was abandoned; with --json, the
    partial report on stdout (marked as stopped)."""
    import sys

    report = exc.report
    done = len(report.results)
    passed = sum(r.passed for r in report.results)
    line = (f"dgm: stopped by {signame or 'a signal'}: {done} task(s) finished and graded ({passed} passed), "
            f"{len(exc.abandoned)} abandoned in flight ({', '.join(exc.abandoned[:5])}{', ...' if len(exc.abandoned) > 5 else ''}), "
            "the rest not started")
    if json_out:
        print_json({**report.to_dict(), "model": model or None, "llm_spend_usd": spent,
                    "stopped_by": signame, "abandoned": exc.abandoned})
    sys.stderr.write(line + "\n")


def _fresh_cache(root: Path) -> Any:
    """A cache that never answers but still records: --no-reuse refreshes what it holds."""
    from dgm.evals.reuse import DiskCache

    class Fresh(DiskCache):
        def get(self, tree_hash: str, suite: str, key: str) -> None:
            return None

    return Fresh(root)


@app.command()
def main(
    agent_dir: Annotated[Path, typer.Argument(help="The agent's directory (with agent.py at its root).")],
    suite: Annotated[list[str], typer.Option("--suite", help="humaneval, humaneval-fix, reasoning, custom:PATH, polyglot[-LANG][+tests]:PATH or swebench:FILE (repeatable).")] = ["humaneval"],
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most N tasks per suite.")] = None,
    stage_plan: Annotated[Optional[str], typer.Option("--stage-plan", help='Stages as TASKS[:MIN_SCORE],... e.g. "10:0.4,50".')] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the task order.")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Agent runs in parallel.")] = 2,
    backend: Annotated[str, typer.Option("--backend", help="auto, docker or bwrap.")] = "auto",
    model: Annotated[Optional[str], typer.Option("--model", envvar="DGM_MODEL", help="A litellm model the agent reaches through the gateway (or scripted:dry-run); none: the agent gets no LLM.")] = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", envvar="DGM_API_BASE", help="Base URL of an OpenAI-compatible server.")] = None,
    swebench_image: Annotated[Optional[str], typer.Option("--swebench-image", help="Environment image template of swebench:FILE suites ({id}: the instance id as swebench names images).")] = None,
    task_timeout: Annotated[Optional[float], typer.Option("--task-timeout", min=1.0, help="Seconds each agent run may take (default: the task's own limit).")] = None,
    backend_wait: Annotated[float, typer.Option("--backend-wait", min=0.0, help="Seconds to wait for a sandbox backend that stopped answering (a Docker restart) before giving up.")] = 1800.0,
    no_reuse: Annotated[bool, typer.Option("--no-reuse", help="Evaluate afresh even when this exact agent tree was already evaluated on these tasks (the new results replace the cached ones).")] = False,
    json_out: JsonOption = False,
) -> None:
    """Run the agent on each task in a sandbox, grade in fresh sandboxes, print results.
    Ctrl-C, SIGTERM or SIGHUP stops it within seconds with the partial results.

    Results are cached by agent tree, suite, task set and grader version (under
    $DGM_CACHE_DIR, default ~/.cache/dgm/evals): an identical tree is not evaluated twice, and
    the output says when results were reused. --no-reuse evaluates afresh.
    """
    import sys

    from dgm import sandbox
    from dgm.evals import EvalCancelled, EvalError, Stage, StagePlan, evaluate, parse_stage_plan

    from dgm.cli.interrupts import StopOnSignal
    from dgm.loop.run import open_eval_model
    from dgm.llm.local import banner as local_banner

    if not (agent_dir / "agent.py").is_file():
        raise EvalError(f"{agent_dir} has no agent.py at its root")
    if backend not in ("auto", "docker", "bwrap"):
        raise EvalError(f"--backend must be auto, docker or bwrap, not '{backend}'")
    if stage_plan:
        plan = parse_stage_plan(stage_plan, seed)
    else:
        plan = StagePlan((Stage(limit or 10**9),), seed)
    from dgm.evals.registry import image_for

    note = local_banner(model or "")
    if note and not json_out:
        console().print(f"[bold yellow]{note}[/]")
    limits = task_limits(task_timeout)
    from dgm.evals.reuse import DiskCache

    with StopOnSignal() as stop, open_eval_model(model, api_base or "") as access:
        cache = access.cache or DiskCache()
        if no_reuse:
            cache = _fresh_cache(cache.root)
        stop.backend = chosen = sandbox.open_backend(backend, image_for(suite))
        try:
            report = evaluate(agent_dir, suite, plan, chosen, workers=workers, limit=limit, limits=limits,
                              progress=not json_out, llm=access.gateway, cache=cache, cancel=stop.event,
                              model_failed=access.model_failed, log_dir=logs_dir(), backend_wait=backend_wait,
                              notice=lambda message: print(f"dgm: {message}", file=sys.stderr, flush=True),
                              suite_options=swebench_options(swebench_image, task_timeout))
        except EvalCancelled as exc:
            stopped(exc, stop.name, json_out, model, access.spend())
            raise typer.Exit(stop.exit_code) from None
        spent = access.spend()
    if stop.signum:  # the signal came after the last task: the results are whole, the exit code says why
        raise typer.Exit(stop.exit_code)
    from dgm.archive.scores import breakdown, breakdown_json

    suites = breakdown((r.suite, r.task_id, r.passed) for r in report.results)
    if json_out:
        print_json({**report.to_dict(), "breakdown": breakdown_json(suites), "model": model or None, "llm_spend_usd": spent,
                    "cache_dir": str(cache.root)})
        return
    out = console()
    if not model:
        out.print("note: no model given (--model or DGM_MODEL): the agent had no LLM, so agents that need one fail")
    out.print(results_table(report))
    out.print(scores_table(report))
    if any(s.languages for s in suites) or len(suites) > 1:
        from dgm.cli.archive_views import breakdown_table

        out.print(breakdown_table(suites))
    if note:
        out.print(f"[bold yellow]{note}[/]")
    out.print(f"score: {report.score:.3f} ({sum(r.passed for r in report.results)}/{len(report.results)})")
    reused = [s for s in report.stages if s.reused]
    if reused:
        which = "all results" if report.reused else f"{len(reused)} of {len(report.stages)} stage(s)"
        out.print(f"reused: {which} from an earlier evaluation of this identical agent tree on these tasks "
                  f"(cache: {cache.root}); --no-reuse evaluates afresh")
