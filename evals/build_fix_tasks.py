"""Build `data/humaneval_fix.json`: `python -m evals.build_fix_tasks [--seed N] [--backend B]`.

For every HumanEval problem, up to CANDIDATES seed-ordered mutants of the canonical solution
are graded in a sandbox (never on the host); the first mutant that fails the hidden tests
becomes the task's bug, provided the canonical solution passes the same tests. Problems
with no such mutant are left out. The output is committed, so the suite is the same
everywhere; tests/evals re-check it in a sandbox.
"""

from __future__ import annotations

import argparse
import json

from dgm.evals.humaneval import problems
from dgm.evals.humaneval_fix import DATA, FixTask, docstring_examples, fix_job
from dgm.evals.mutations import pick_mutations

CANDIDATES = 4
DEFAULT_SEED = 0


def build(backend, seed: int = DEFAULT_SEED) -> dict:
    jobs, meta = [], []
    for problem in problems():
        canonical = problem.prompt + problem.canonical_solution
        fix = FixTask(problem, canonical, "", tuple(docstring_examples(problem.prompt, problem.entry_point)))
        jobs.append(fix_job(f"{problem.task_id}#canonical", fix, canonical))
        meta.append((problem.task_id, None, None))
        for i, m in enumerate(pick_mutations(canonical, problem.entry_point, f"{seed}:{problem.task_id}", CANDIDATES)):
            jobs.append(fix_job(f"{problem.task_id}#{i}", fix, m.apply(canonical)))
            meta.append((problem.task_id, m, m.apply(canonical)))
    from dgm.evals.grading import grade_jobs

    verdicts = grade_jobs(backend, jobs)
    canonical_ok: dict[str, bool] = {}
    chosen: dict[str, dict] = {}
    for (pid, mutation, module), verdict in zip(meta, verdicts):
        if mutation is None:
            canonical_ok[pid] = verdict.passed
        elif pid not in chosen and not verdict.passed and verdict.reason == "failed":  # hangs make slow tasks
            chosen[pid] = {"problem": pid, "bug": mutation.describe(), "module": module}
    tasks = [chosen[p.task_id] for p in problems() if p.task_id in chosen and canonical_ok.get(p.task_id)]
    return {"seed": seed, "candidates": CANDIDATES, "tasks": tasks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    from dgm import sandbox

    data = build(sandbox.open_backend(args.backend), args.seed)
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['tasks'])} tasks to {DATA}")


if __name__ == "__main__":
    main()
