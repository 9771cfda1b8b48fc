"""Score-proportional (roulette-wheel) selection, the classic of genetic algorithms (Holland,
"Adaptation in Natural and Artificial Systems", 1975); the DGM paper's 'score_prop' baseline."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dgm.loop.selection.base import Candidate, clipped_scores


def weights(cands: Sequence[Candidate]) -> np.ndarray:
    return clipped_scores(cands) + 1e-6  # all-zero archives still select someone
