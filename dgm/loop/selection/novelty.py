"""Novelty-weighted selection, after novelty search (Lehman & Stanley, "Abandoning Objectives:
Evolution Through the Search for Novelty Alone", 2011) as the DGM's open-ended archive uses
it: score times the mean cosine distance of the agent's code (TF-IDF over identifier-like
tokens) to the other candidates, so good agents unlike the rest of the archive are favoured."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dgm.loop.selection import score_prop
from dgm.loop.selection.base import Candidate


def weights(cands: Sequence[Candidate]) -> np.ndarray:
    if len(cands) < 2:
        return score_prop.weights(cands)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances

    try:
        vectors = TfidfVectorizer(token_pattern=r"[A-Za-z_][A-Za-z0-9_]+").fit_transform(c.code for c in cands)
    except ValueError:  # no tokens at all
        return score_prop.weights(cands)
    novelty = cosine_distances(vectors).sum(axis=1) / (len(cands) - 1)
    return score_prop.weights(cands) * (novelty + 1e-3)
