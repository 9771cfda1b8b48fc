"""A synthetic landscape on which parent selection can be tested honestly without an LLM.

Each agent has a hidden true skill; it passes each task with probability equal to it. A child's
skill is drawn from a known random process around its parent's: each lineage carries a drift
(mostly negative or flat, sometimes positive) that children inherit with small mutations, and
now and then a child steps down in skill but opens a lineage that climbs afterwards. So some
lineages improve, many do not, and a few improve only after a step down: the situation in
which a rule that reads clades (HGM) and a rule that reads scores (DGM, greedy) differ.

`simulate` drives the real selection code (`dgm.loop.selection`: the weighted rules, and
`hgm.decide` for HGM) and the real best-agent rule (`archive.best`) on an in-memory archive.
Its numbers are a property of this landscape, not of any LLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dgm.archive.best import Ranked, best_of
from dgm.loop.selection import Candidate, hgm, select_parent, selection_rng


@dataclass(frozen=True)
class Landscape:
    seed_skill: float = 0.25
    p_good_lineage: float = 0.15
    """A child founds a new lineage that tends to improve (drift +good_drift)."""
    p_detour: float = 0.08
    """A child steps down by `detour_drop` but founds a lineage that climbs (drift +detour_drift)."""
    p_bad_lineage: float = 0.25
    """A child founds a lineage that tends to decay (drift -bad_drift)."""
    good_drift: float = 0.04
    detour_drop: float = 0.12
    detour_drift: float = 0.07
    bad_drift: float = 0.04
    noise: float = 0.03
    """Per-child jitter of skill around parent + drift."""

    def child(self, skill: float, drift: float, rng: np.random.Generator) -> tuple[float, float]:
        """(skill, drift) of a child of an agent with (skill, drift)."""
        u = rng.random()
        if u < self.p_good_lineage:
            drift = self.good_drift
        elif u < self.p_good_lineage + self.p_detour:
            skill, drift = skill - self.detour_drop, self.detour_drift
        elif u < self.p_good_lineage + self.p_detour + self.p_bad_lineage:
            drift = -self.bad_drift
        new = skill + drift + rng.normal(0.0, self.noise)
        return float(np.clip(new, 0.0, 1.0)), drift


@dataclass
class SimAgent:
    id: str
    parent_id: str | None
    skill: float
    drift: float
    order: int
    passed: int = 0
    tasks: int = 0
    children: int = 0

    @property
    def score(self) -> float:
        return self.passed / self.tasks if self.tasks else 0.0


@dataclass(frozen=True)
class SimConfig:
    rule: str
    target: float = 0.6
    budget_tasks: int = 3000
    stages: tuple[tuple[int, float], ...] = ((10, 0.4), (40, 0.0))
    """(tasks, score needed to go on) as the run config's staged plan: 10, then 40 more at >= 40%."""
    hgm_first_tasks: int = 5
    """HGM measures a new child on this many tasks, then one task at a time as it decides."""
    alpha: float = 0.6
    clade: bool = True
    """HGM only: expand by clade counts (False: own counts, the ablation)."""


@dataclass
class SimResult:
    rule: str
    seed: int
    created_at: int | None = None
    """Task evaluations spent when an agent above target first existed (and was evaluated)."""
    found_at: int | None = None
    """Task evaluations spent when the run's best agent (archive.best's rule) was above target."""
    agents: int = 0
    best_skill: float = 0.0


@dataclass
class _Run:
    cfg: SimConfig
    land: Landscape
    rng: np.random.Generator
    agents: list[SimAgent] = field(default_factory=list)
    used: int = 0

    def measure(self, agent: SimAgent, n: int) -> None:
        n = min(n, self.cfg.budget_tasks - self.used)
        if n <= 0:
            return
        agent.passed += int(self.rng.binomial(n, agent.skill))
        agent.tasks += n
        self.used += n

    def staged(self, agent: SimAgent) -> None:
        for tasks, min_score in self.cfg.stages:
            self.measure(agent, tasks)
            if agent.score < min_score:
                break

    def add_child(self, parent: SimAgent) -> SimAgent:
        skill, drift = self.land.child(parent.skill, parent.drift, self.rng)
        parent.children += 1
        child = SimAgent(f"a{len(self.agents):05d}", parent.id, skill, drift, len(self.agents))
        self.agents.append(child)
        return child

    def candidates(self) -> list[Candidate]:
        return [Candidate(a.id, a.score, a.children, parent_id=a.parent_id, passed=a.passed, tasks=a.tasks) for a in self.agents]

    def full_tasks(self) -> int:
        return sum(t for t, _ in self.cfg.stages)

    def best(self) -> SimAgent | None:
        rows = [Ranked(a.id, a.score, a.tasks, a.order) for a in self.agents if a.tasks]
        found = best_of(rows, self.full_tasks())
        return next(a for a in self.agents if a.id == found.id) if found else None


def simulate(cfg: SimConfig, seed: int, land: Landscape = Landscape()) -> SimResult:
    """One run of one rule on the landscape until the task budget is spent."""
    run = _Run(cfg, land, np.random.default_rng([seed, 1]))
    root = SimAgent("a00000", None, land.seed_skill, 0.0, 0)
    run.agents.append(root)
    run.staged(root)
    result = SimResult(cfg.rule, seed)
    step = 0
    while run.used < cfg.budget_tasks:
        step += 1
        rng = selection_rng(seed, step)
        if cfg.rule == "hgm":
            nodes = run.candidates()
            left = {a.id: cfg.budget_tasks for a in run.agents}  # the simulated suite never runs out
            decision = hgm.decide(nodes, [n for n in nodes if n.tasks], left, len(run.agents) - 1, rng,
                                  hgm.HgmParams(alpha=cfg.alpha, clade=cfg.clade))
            agent = next(a for a in run.agents if a.id == decision.agent_id)
            if decision.action == hgm.EXPAND:
                run.measure(run.add_child(agent), cfg.hgm_first_tasks)
            else:
                run.measure(agent, 1)
        else:
            parent_id = select_parent([c for c in run.candidates() if c.tasks], cfg.rule, rng).id
            run.staged(run.add_child(next(a for a in run.agents if a.id == parent_id)))
        if result.created_at is None and any(a.skill >= cfg.target and a.tasks for a in run.agents):
            result.created_at = run.used
        best = run.best()
        if result.found_at is None and best is not None and best.skill >= cfg.target:
            result.found_at = run.used
    best = run.best()
    result.agents = len(run.agents)
    result.best_skill = best.skill if best else 0.0
    return result
