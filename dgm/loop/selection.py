"""Parent selection: which valid agents get to have children.

Every method maps candidates to probabilities and draws from a numpy Generator that the loop
derives from (run seed, iteration), so a resumed run draws exactly what an uninterrupted one
would have drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np


class SelectionError(ValueError):
    """No candidate can become a parent."""


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float
    children: int
    code: str = ""
    """The agent's source text; only the novelty method reads it."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _scores(cands: Sequence[Candidate]) -> np.ndarray:
    return np.array([max(c.score, 0.0) for c in cands], dtype=float)


def score_child_prop_weights(cands: Sequence[Candidate]) -> np.ndarray:
    """The DGM's rule: sigmoid(10 * (score - 0.5)) / (1 + number of children)."""
    children = np.array([c.children for c in cands], dtype=float)
    return _sigmoid(10.0 * (_scores(cands) - 0.5)) / (1.0 + children)


def score_prop_weights(cands: Sequence[Candidate]) -> np.ndarray:
    return _scores(cands) + 1e-6  # all-zero archives still select someone


def random_weights(cands: Sequence[Candidate]) -> np.ndarray:
    return np.ones(len(cands))


def best_weights(cands: Sequence[Candidate]) -> np.ndarray:
    scores = _scores(cands)
    return (scores == scores.max()).astype(float)


def novelty_weights(cands: Sequence[Candidate]) -> np.ndarray:
    """Score times the mean cosine distance of the agent's code (TF-IDF over identifier-like
    tokens) to the other candidates: rewards good agents unlike the rest of the archive."""
    if len(cands) < 2:
        return score_prop_weights(cands)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances

    try:
        vectors = TfidfVectorizer(token_pattern=r"[A-Za-z_][A-Za-z0-9_]+").fit_transform(c.code for c in cands)
    except ValueError:  # no tokens at all
        return score_prop_weights(cands)
    distances = cosine_distances(vectors)
    novelty = distances.sum(axis=1) / (len(cands) - 1)
    return score_prop_weights(cands) * (novelty + 1e-3)


WEIGHTS: Mapping[str, Callable[[Sequence[Candidate]], np.ndarray]] = {
    "score_child_prop": score_child_prop_weights,
    "score_prop": score_prop_weights,
    "random": random_weights,
    "best": best_weights,
    "novelty": novelty_weights,
}


def selection_rng(seed: int, iteration: int) -> np.random.Generator:
    return np.random.default_rng([seed, iteration])


def select_parent(cands: Sequence[Candidate], method: str, rng: np.random.Generator) -> Candidate:
    """Draw one parent.

    Raises: SelectionError when there is no candidate; KeyError for an unknown method.
    """
    if not cands:
        raise SelectionError("no valid agent can become a parent")
    ordered = sorted(cands, key=lambda c: c.id)  # order-independent of the archive's listing
    weights = WEIGHTS[method](ordered)
    probabilities = weights / weights.sum()
    return ordered[int(rng.choice(len(ordered), p=probabilities))]
