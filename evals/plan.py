"""Stage plans written on the command line: "10:0.4,50" = 10 tasks, then 50 more if the
score so far is at least 0.4."""

from __future__ import annotations

from dgm.evals.base import EvalError, Stage, StagePlan


def parse_stage_plan(text: str, seed: int = 0) -> StagePlan:
    """Raises: EvalError on a malformed plan."""
    stages = []
    for part in (p.strip() for p in text.split(",")):
        count, _, threshold = part.partition(":")
        try:
            stage = Stage(int(count), float(threshold) if threshold else 0.0)
        except ValueError:
            raise EvalError(f"bad stage '{part}' in plan '{text}' (expected TASKS[:MIN_SCORE], e.g. 10:0.4,50)") from None
        if stage.tasks < 1 or not 0.0 <= stage.min_score_to_continue <= 1.0:
            raise EvalError(f"bad stage '{part}': tasks must be >= 1 and the score in [0, 1]")
        stages.append(stage)
    if not stages:
        raise EvalError("an empty stage plan")
    return StagePlan(tuple(stages), seed)
