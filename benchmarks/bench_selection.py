"""Parent selection on a synthetic landscape: how many task evaluations each rule needs.

The landscape (dgm/loop/landscape.py) gives each agent a hidden true skill, drawn for a child
around its parent's (some lineages improve, many do not, a few improve only after a step
down); an agent passes each task with probability equal to its skill. The real selection code
(hgm's scheduler, the DGM's score_child_prop, best, random) and the real best-agent rule run
on it; no LLM and no sandbox. THE NUMBERS ARE A PROPERTY OF THIS LANDSCAPE, NOT OF LLMs.

Per rule over many seeds: task evaluations until an agent above the target skill existed
(created), until the run's best agent was above it (found), and how often the run ended its
budget without finding one (stuck). The baseline is `random`, in the same script.

    .venv/bin/python benchmarks/bench_selection.py [--seeds 200] [--budget 3000] [--target 0.6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dgm.loop.landscape import SimConfig, simulate  # noqa: E402

RULES = ("hgm", "hgm-own", "score_child_prop", "best", "random")
"""hgm-own: HGM's scheduler with expansion by the agent's own counts, not its clade (ablation)."""


def median_or_dash(values: list[int]) -> str:
    return f"{statistics.median(values):7.0f}" if values else "      -"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--budget", type=int, default=3000)
    parser.add_argument("--target", type=float, default=0.6)
    args = parser.parse_args()
    print(f"synthetic landscape, {args.seeds} seeds, budget {args.budget} task evaluations, target skill {args.target}")
    print("(a property of this landscape, not of LLMs)\n")
    print(f"{'rule':18} {'created':>8} {'found':>8} {'stuck':>7} {'best skill':>10} {'agents':>7} {'secs':>6}")
    rows = {}
    for rule in RULES:
        start = time.perf_counter()
        cfg = SimConfig("hgm", target=args.target, budget_tasks=args.budget, clade=False) if rule == "hgm-own" else \
            SimConfig(rule, target=args.target, budget_tasks=args.budget)
        results = [simulate(cfg, seed) for seed in range(args.seeds)]
        took = time.perf_counter() - start
        created = [r.created_at for r in results if r.created_at is not None]
        found = [r.found_at for r in results if r.found_at is not None]
        stuck = 1 - len(found) / len(results)
        rows[rule] = (found, stuck)
        print(f"{rule:18} {median_or_dash(created):>8} {median_or_dash(found):>8} {stuck:7.0%} "
              f"{statistics.mean(r.best_skill for r in results):10.3f} {statistics.mean(r.agents for r in results):7.0f} {took:6.1f}")
    print("\ncreated/found: median task evaluations over the seeds that got there; stuck: share of seeds that never found one")
    base = rows["random"][1]
    for rule in RULES[:-1]:
        print(f"stuck ratio {rule} / random: {rows[rule][1] / base:.2f}" if base else f"stuck {rule}: {rows[rule][1]:.0%} (random never stuck)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
