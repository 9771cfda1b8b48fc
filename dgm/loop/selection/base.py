"""What every selection rule shares: the candidate record, the error, the seeded RNG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


class SelectionError(ValueError):
    """No candidate can become a parent."""


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float
    children: int
    code: str = ""
    """The agent's source text; only the novelty rule reads it."""
    parent_id: str | None = None
    passed: int = 0
    """Tasks this agent passed, over all its evaluations (HGM's clade counts add these up)."""
    tasks: int = 0
    """Distinct tasks this agent was evaluated on."""


def selection_rng(seed: int, iteration: int) -> np.random.Generator:
    """The generator for one decision: a function of (run seed, iteration) only, so a resumed
    run draws exactly what an uninterrupted one would have drawn."""
    return np.random.default_rng([seed, iteration])


def clipped_scores(cands: Sequence[Candidate]) -> np.ndarray:
    return np.array([max(c.score, 0.0) for c in cands], dtype=float)


def draw(cands: Sequence[Candidate], weights: np.ndarray, rng: np.random.Generator) -> Candidate:
    """One candidate with probability proportional to its weight."""
    probabilities = weights / weights.sum()
    return cands[int(rng.choice(len(cands), p=probabilities))]
