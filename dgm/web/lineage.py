"""The lineage as positioned nodes and edges for an SVG drawn by the page (pure, no I/O).

A tidy layered layout: x is the depth from the seed, leaves take consecutive rows in
depth-first order and a parent sits at the middle of its children. An edge leaves its parent
downwards (or upwards), to the left of the parent's label, then runs to the child; a child
whose row crosses the parent's label is joined from the end of that label. Labels have a white
halo, so an edge that passes behind one never crosses its text. Iterative, so a long chain
of descendants does not hit Python's recursion limit; linear in the number of agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

X_STEP, Y_STEP, MARGIN = 70, 16, 20
LABEL_GAP, CHAR_WIDTH = 8, 6.2
"""Where a node's label starts right of its centre, and the width of a label's character (10px)."""


@dataclass(frozen=True)
class Node:
    id: str
    parent_id: str | None
    x: float
    y: float
    score: float | None
    status: str
    verdict: str | None
    best: bool = False


@dataclass(frozen=True)
class Lineage:
    nodes: list[Node]
    width: float
    height: float

    def edges(self) -> list[tuple[Node, Node]]:
        by_id = {n.id: n for n in self.nodes}
        return [(by_id[n.parent_id], n) for n in self.nodes if n.parent_id in by_id]

    def paths(self) -> list[str]:
        """SVG path data of every edge (see the module's note on routing)."""
        out = []
        for parent, child in self.edges():
            if abs(parent.y - child.y) < Y_STEP:  # the child's row crosses the parent's label
                start = min(parent.x + LABEL_GAP + CHAR_WIDTH * len(f"{parent.id} 0.000"), child.x - 6)
                out.append(f"M{start:g} {parent.y:g}V{child.y:g}H{child.x:g}")
            else:
                out.append(f"M{parent.x:g} {parent.y:g}V{child.y:g}H{child.x:g}")
        return out


def layout(agents: Sequence[Any], verdicts: Mapping[str, str], best_id: str | None = None) -> Lineage:
    ids = {a.id for a in agents}
    children: dict[str | None, list[Any]] = {}
    for agent in agents:
        parent = agent.parent_id if agent.parent_id in ids else None
        children.setdefault(parent, []).append(agent)
    depth: dict[str, int] = {}
    row: dict[str, float] = {}
    next_row = 0
    stack: list[tuple[Any, bool]] = [(a, False) for a in reversed(children.get(None, []))]
    while stack:
        agent, done = stack.pop()
        kids = children.get(agent.id, [])
        if not done:
            depth[agent.id] = depth[agent.parent_id] + 1 if agent.parent_id in depth else 0
            if kids:
                stack.append((agent, True))
                stack += [(k, False) for k in reversed(kids)]
            else:
                row[agent.id], next_row = next_row, next_row + 1
        else:
            row[agent.id] = (row[kids[0].id] + row[kids[-1].id]) / 2
    nodes = [
        Node(a.id, a.parent_id, MARGIN + depth[a.id] * X_STEP, MARGIN + row[a.id] * Y_STEP, a.score, a.status,
             verdicts.get(a.id), a.id == best_id)
        for a in agents if a.id in row
    ]
    width = MARGIN * 2 + X_STEP * (max(depth.values(), default=0) + 1)
    height = MARGIN * 2 + Y_STEP * max(next_row, 1)
    return Lineage(nodes, width, height)
