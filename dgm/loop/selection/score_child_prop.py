"""The DGM's parent selection (Zhang et al., "Darwin Gödel Machine: Open-Ended Evolution of
Self-Improving Agents", 2025, section 3 and appendix A.2): weight sigmoid(10 (score - 0.5))
divided by 1 + number of children, so good agents are favoured and over-used ones fade."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dgm.loop.selection.base import Candidate, clipped_scores


def weights(cands: Sequence[Candidate]) -> np.ndarray:
    children = np.array([c.children for c in cands], dtype=float)
    return 1.0 / (1.0 + np.exp(-10.0 * (clipped_scores(cands) - 0.5))) / (1.0 + children)
