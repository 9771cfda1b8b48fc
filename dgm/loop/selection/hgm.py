"""The Huxley-Gödel Machine's scheduler (Wang et al., "Huxley-Gödel Machine: Human-Level
Coding Agent Development by an Approximation of the Optimal Self-Improving Machine", 2025,
Algorithm 1; public code metauto-ai/HGM). Two ideas:

- Whom to expand is chosen by Thompson sampling on each agent's *clade metaproductivity*
  estimate: the pass/fail counts of the agent and its whole subtree of descendants pooled,
  not the agent's own score. A lineage that keeps producing good children is favoured even
  when its root scores poorly, and a high scorer whose children all fail fades.
- Expansion is decoupled from evaluation. Each step either makes a new child or spends one
  more task evaluation on an existing agent; it expands when (task evaluations so far) **
  alpha >= children so far (started ones included), so the tree grows sub-linearly in the
  evaluation budget. Which agent gets the extra task is again Thompson sampling, on the
  agent's own counts; never-evaluated agents go first (the paper's optimistic start).

Where we chose (the paper or its code leaves it open, or our loop differs):
- Posterior Beta(tau (1 + passed), tau (1 + failed)); tau = 1, or with `cool_down` the code's
  (budget / (budget - used)) ** beta, which sharpens the posterior as the budget runs out.
- Expansion candidates are valid agents with at least one evaluated task and a positive own
  pass rate, as in the public code; when none qualifies, every valid agent is a candidate
  (otherwise a run whose seed scored 0 would stall).
- When no agent has an unevaluated task left the step expands, whatever the rule says.
- A child's first stage of the run's staged plan is its first measurement; the extra tasks
  follow the same seed-fixed task order, so counts stay comparable across agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from dgm.loop.selection.base import Candidate, SelectionError

EXPAND = "expand"
EVALUATE = "evaluate"


@dataclass(frozen=True)
class HgmParams:
    alpha: float = 0.6
    """Expand when task_evaluations ** alpha >= children; the paper's 0.6."""
    cool_down: bool = False
    """Sharpen the posteriors as the task budget is used up (the code's off by default)."""
    beta: float = 1.0
    """Exponent of the cool-down temperature."""
    budget_tasks: int = 0
    """Task-evaluation budget the cool-down is measured against (0: no cool-down)."""
    clade: bool = True
    """Expand by clade counts (HGM); False: by the agent's own counts only (an ablation that
    keeps the scheduler but drops the clade estimate)."""


@dataclass(frozen=True)
class Decision:
    action: str
    """EXPAND (make a child of `agent_id`) or EVALUATE (one more task for `agent_id`)."""
    agent_id: str


def clade_counts(nodes: Sequence[Candidate]) -> dict[str, tuple[int, int]]:
    """(passed, tasks) of each agent's whole subtree, itself included. `nodes` should hold
    every agent of the run (invalid or unevaluated ones add nothing but keep the tree whole).
    One post-order pass, without recursion: lineages can be thousands deep."""
    ids = {n.id for n in nodes}
    children: dict[str, list[Candidate]] = {}
    for node in nodes:
        if node.parent_id in ids:
            children.setdefault(node.parent_id, []).append(node)
    totals: dict[str, tuple[int, int]] = {}
    for root in (n for n in nodes if n.parent_id not in ids):
        stack: list[tuple[Candidate, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            kids = children.get(node.id, [])
            if not expanded:
                stack.append((node, True))
                stack.extend((kid, False) for kid in kids)
                continue
            totals[node.id] = (
                node.passed + sum(totals[k.id][0] for k in kids),
                node.tasks + sum(totals[k.id][1] for k in kids),
            )
    return totals


def temperature(params: HgmParams, tasks_used: int) -> float:
    if not params.cool_down or params.budget_tasks <= 0:
        return 1.0
    left = max(params.budget_tasks - tasks_used, 1)
    return float((params.budget_tasks / left) ** params.beta)


def thompson(counts: Sequence[tuple[int, int]], rng: np.random.Generator, tau: float = 1.0) -> int:
    """Index of the arm whose draw from Beta(tau (1 + passed), tau (1 + failed)) is highest."""
    a = np.array([tau * (1 + p) for p, _ in counts], dtype=float)
    b = np.array([tau * (1 + n - p) for p, n in counts], dtype=float)
    return int(np.argmax(rng.beta(a, b)))


def should_expand(task_evaluations: int, children: int, alpha: float) -> bool:
    """The paper's rule: expand while the tree is small for the evaluations spent."""
    return float(task_evaluations) ** alpha >= children


def choose_parent(
    eligible: Sequence[Candidate], nodes: Sequence[Candidate], rng: np.random.Generator, tau: float = 1.0, clade: bool = True
) -> Candidate:
    """Thompson sampling on clade counts (or, with `clade` off, own counts) among `eligible`
    (who may become a parent).

    Raises: SelectionError when there is no eligible agent.
    """
    if not eligible:
        raise SelectionError("no valid agent can become a parent")
    clades = clade_counts(nodes) if clade else {}
    ordered = sorted(eligible, key=lambda c: c.id)
    measured = [c for c in ordered if c.tasks > 0 and c.passed > 0]
    pool = measured or ordered
    return pool[thompson([clades.get(c.id, (c.passed, c.tasks)) for c in pool], rng, tau)]


def choose_to_evaluate(open_agents: Sequence[Candidate], rng: np.random.Generator, tau: float = 1.0) -> Candidate:
    """Whom one more task goes to, among agents with tasks left: the first never-evaluated one
    (by id), else Thompson sampling on the agents' own counts.

    Raises: SelectionError when no agent has a task left.
    """
    if not open_agents:
        raise SelectionError("no agent has an unevaluated task left")
    ordered = sorted(open_agents, key=lambda c: c.id)
    fresh = [c for c in ordered if c.tasks == 0]
    if fresh:
        return fresh[0]
    return ordered[thompson([(c.passed, c.tasks) for c in ordered], rng, tau)]


def decide(
    nodes: Sequence[Candidate],
    eligible: Sequence[Candidate],
    tasks_left: Mapping[str, int],
    children: int,
    rng: np.random.Generator,
    params: HgmParams = HgmParams(),
) -> Decision:
    """One HGM step: expand or evaluate, and on whom.

    `nodes` are all agents (for clade counts), `eligible` those that may become parents,
    `tasks_left` the unevaluated tasks per agent that may still be measured, `children` the
    children made or in flight.

    Raises: SelectionError when there is nothing to expand.
    """
    used = sum(n.tasks for n in nodes)
    tau = temperature(params, used)
    open_agents = [n for n in nodes if tasks_left.get(n.id, 0) > 0]
    if open_agents and not should_expand(used, children, params.alpha):
        return Decision(EVALUATE, choose_to_evaluate(open_agents, rng, tau).id)
    return Decision(EXPAND, choose_parent(eligible, nodes, rng, tau, params.clade).id)
