"""`dgm eval AGENT_DIR --suite S`: evaluate one agent directory, no run needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dgm.cli.common import JsonOption, console, print_json

app = typer.Typer(add_completion=False, help="Evaluate one agent directory on suites, no run needed.")


def results_table(report: Any) -> Any:
    """The per-task table and the scores (a pure view, rendered by the caller)."""
    from rich.table import Table

    table = Table(title=f"{report.agent_dir}  score {report.score:.3f}" + ("  (reused)" if report.reused else ""))
    for column in ("task", "stage", "passed", "reason", "seconds"):
        table.add_column(column, justify="right" if column in ("stage", "seconds") else "left")
    for r in report.results:
        table.add_row(r.task_id, str(r.stage + 1), "yes" if r.passed else "no", r.exit_reason + (" (reused)" if r.reused else ""), f"{r.duration:.1f}")
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


@app.command()
def main(
    agent_dir: Annotated[Path, typer.Argument(help="The agent's directory (with agent.py at its root).")],
    suite: Annotated[list[str], typer.Option("--suite", help="humaneval, humaneval-fix, reasoning or custom:PATH (repeatable).")] = ["humaneval"],
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most N tasks per suite.")] = None,
    stage_plan: Annotated[Optional[str], typer.Option("--stage-plan", help='Stages as TASKS[:MIN_SCORE],... e.g. "10:0.4,50".')] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the task order.")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Agent runs in parallel.")] = 2,
    backend: Annotated[str, typer.Option("--backend", help="auto, docker or bwrap.")] = "auto",
    model: Annotated[Optional[str], typer.Option("--model", envvar="DGM_MODEL", help="A litellm model the agent reaches through the gateway (or scripted:dry-run); none: the agent gets no LLM.")] = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", envvar="DGM_API_BASE", help="Base URL of an OpenAI-compatible server.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Run the agent on each task in a sandbox, grade in fresh sandboxes, print results."""
    from dgm import sandbox
    from dgm.evals import EvalError, Stage, StagePlan, evaluate, parse_stage_plan

    from dgm.loop.run import open_eval_model

    if not (agent_dir / "agent.py").is_file():
        raise EvalError(f"{agent_dir} has no agent.py at its root")
    if backend not in ("auto", "docker", "bwrap"):
        raise EvalError(f"--backend must be auto, docker or bwrap, not '{backend}'")
    if stage_plan:
        plan = parse_stage_plan(stage_plan, seed)
    else:
        plan = StagePlan((Stage(limit or 10**9),), seed)
    chosen = sandbox.open_backend(backend)
    with open_eval_model(model, api_base or "") as access:
        report = evaluate(agent_dir, suite, plan, chosen, workers=workers, limit=limit,
                          progress=not json_out, llm=access.gateway, cache=access.cache)
        spent = access.spend()
    if json_out:
        print_json({**report.to_dict(), "model": model or None, "llm_spend_usd": spent})
        return
    out = console()
    if not model:
        out.print("note: no model given (--model or DGM_MODEL): the agent had no LLM, so agents that need one fail")
    out.print(results_table(report))
    out.print(scores_table(report))
    out.print(f"score: {report.score:.3f} ({sum(r.passed for r in report.results)}/{len(report.results)})"
              + ("  [reused: identical agent tree already evaluated on these tasks]" if report.reused else ""))
