"""Uniform parent selection: every valid agent equally likely; the DGM paper's 'random'
baseline (also `random-parent` among the presets)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dgm.loop.selection.base import Candidate


def weights(cands: Sequence[Candidate]) -> np.ndarray:
    return np.ones(len(cands))
