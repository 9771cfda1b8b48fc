"""Parent selection: which valid agents get to have children.

One small module per rule, each citing its source: `score_child_prop` (the DGM's), `best`
(greedy), `random` (uniform), `score_prop`, `novelty`, and `hgm` (the Huxley-Gödel Machine's
Thompson sampling on clade metaproductivity, whose scheduler also decides when to spend a task
evaluation instead of making a child; see `hgm.decide`). Every draw comes from a numpy
Generator derived from (run seed, iteration), so a resumed run draws what an uninterrupted one
would have drawn.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from dgm.loop.selection import greedy, hgm, novelty, score_child_prop, score_prop, uniform
from dgm.loop.selection.base import Candidate, SelectionError, draw, selection_rng

WEIGHTS: Mapping[str, Callable[[Sequence[Candidate]], np.ndarray]] = {
    "score_child_prop": score_child_prop.weights,
    "score_prop": score_prop.weights,
    "random": uniform.weights,
    "best": greedy.weights,
    "novelty": novelty.weights,
}

RULES = (*WEIGHTS, "hgm")

score_child_prop_weights = score_child_prop.weights


def select_parent(
    cands: Sequence[Candidate], method: str, rng: np.random.Generator, nodes: Sequence[Candidate] | None = None
) -> Candidate:
    """Draw one parent among `cands`. `nodes` (every agent of the run) matter only to 'hgm',
    whose estimate pools each candidate's descendants; without them, the candidates are used.

    Raises: SelectionError when there is no candidate; KeyError for an unknown method.
    """
    if not cands:
        raise SelectionError("no valid agent can become a parent")
    if method == "hgm":
        return hgm.choose_parent(cands, nodes if nodes is not None else cands, rng)
    ordered = sorted(cands, key=lambda c: c.id)  # order-independent of the archive's listing
    return draw(ordered, WEIGHTS[method](ordered), rng)


__all__ = ["RULES", "WEIGHTS", "Candidate", "SelectionError", "hgm", "select_parent", "selection_rng"]
