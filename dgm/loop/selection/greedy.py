"""Greedy selection: always the top-scoring agent (ties drawn uniformly). With it the archive
degenerates to hill-climbing: the DGM paper's "DGM w/o open-ended exploration" ablation."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dgm.loop.selection.base import Candidate, clipped_scores


def weights(cands: Sequence[Candidate]) -> np.ndarray:
    scores = clipped_scores(cands)
    return (scores == scores.max()).astype(float)
