"""Lineage tree layouts in numpy, no graphviz: a layered one for small archives and a radial
one that stays readable with thousands of agents.

Both start from the same ordering: leaves are numbered in depth-first order (children in the
order given, i.e. creation order), and every inner node sits at the middle of its children.
That keeps subtrees contiguous, so a family reads as one wedge (radial) or one block (layered),
and edges never cross. Everything is iterative: a lineage can be thousands of generations deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class TreeLayout:
    x: np.ndarray
    y: np.ndarray
    depth: np.ndarray
    edges: np.ndarray
    """(n_edges, 2) int array of (parent index, child index)."""

    def segments(self) -> np.ndarray:
        """(n_edges, 2, 2) line segments for a matplotlib LineCollection."""
        if len(self.edges) == 0:
            return np.zeros((0, 2, 2))
        p, c = self.edges[:, 0], self.edges[:, 1]
        return np.stack([np.column_stack([self.x[p], self.y[p]]), np.column_stack([self.x[c], self.y[c]])], axis=1)


def _children(parent_index: np.ndarray) -> list[list[int]]:
    children: list[list[int]] = [[] for _ in range(len(parent_index))]
    for child, parent in enumerate(parent_index):
        if parent >= 0:
            children[parent].append(child)
    return children


def parent_indices(ids: Sequence[str], parent_ids: Sequence[str | None]) -> np.ndarray:
    """Index of each node's parent, -1 for roots (and for parents missing from `ids`)."""
    index = {node: i for i, node in enumerate(ids)}
    return np.array([index.get(p, -1) if p is not None else -1 for p in parent_ids], dtype=int)


def leaf_order(parent_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position, depth) per node: leaves at 0, 1, 2... in depth-first order, inner nodes at
    the midpoint of their first and last child; depth counted from the root."""
    n = len(parent_index)
    children = _children(parent_index)
    position = np.zeros(n)
    depth = np.zeros(n, dtype=int)
    next_leaf = 0.0
    roots = [i for i in range(n) if parent_index[i] < 0]
    for root in roots:
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            kids = children[node]
            if expanded:
                position[node] = (position[kids[0]] + position[kids[-1]]) / 2.0
                continue
            if not kids:
                position[node] = next_leaf
                next_leaf += 1.0
                continue
            stack.append((node, True))
            for kid in reversed(kids):
                depth[kid] = depth[node] + 1
                stack.append((kid, False))
    return position, depth


def _edges(parent_index: np.ndarray) -> np.ndarray:
    child = np.nonzero(parent_index >= 0)[0]
    return np.column_stack([parent_index[child], child]).astype(int) if len(child) else np.zeros((0, 2), dtype=int)


def layered_layout(parent_index: np.ndarray) -> TreeLayout:
    """Top-down: roots at the top, one row per generation, leaves spread left to right."""
    position, depth = leaf_order(parent_index)
    return TreeLayout(position, -depth.astype(float), depth, _edges(parent_index))


def radial_layout(parent_index: np.ndarray) -> TreeLayout:
    """The seed in the centre, one ring per generation, each subtree a wedge.

    Leaves share the circle evenly (a small gap closes it so the first and last families do
    not touch); radius grows with the square root of depth beyond the first rings so that
    deep, narrow lineages do not crowd the outer edge while the early rings stay apart.
    """
    position, depth = leaf_order(parent_index)
    leaves = max(position.max() + 1.0, 1.0) if len(position) else 1.0
    angle = 2 * np.pi * position / (leaves * 1.02) + np.pi / 2
    radius = depth.astype(float)
    return TreeLayout(radius * np.cos(angle), radius * np.sin(angle), depth, _edges(parent_index))


def path_to_root(parent_index: np.ndarray, node: int) -> list[int]:
    """Indices from the root down to `node` (a cycle, which a sound archive never has, stops the walk)."""
    path, seen = [], set()
    while node >= 0 and node not in seen:
        seen.add(node)
        path.append(node)
        node = int(parent_index[node])
    return path[::-1]
