"""Views of `dgm archive`: pure functions from archive records to rich renderables or JSON.

Tested by rendering to text. The lineage tree of a large archive is pruned to the best agents
and their ancestors, with chains of pass-through ancestors folded into one line and the rest
counted, so the tree stays readable (and fast) at 10,000 agents.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from dgm.archive.records import AgentRecord, AgentSummary, EvaluationRecord, FileChange, ReviewRecord, Spend, TaskCount, VerifyReport
from dgm.archive.scores import SuiteScore, breakdown_json
from dgm.archive.stats import ScoreStat, score_stat

STATUS_STYLE = {"evaluated": "green", "pending": "yellow", "evaluating": "cyan", "invalid": "red"}
VERDICT_STYLE = {"approve": "bold green", "reject": "bold red", "note": "cyan"}
PRUNE_ABOVE = 200
"""Archives with more agents than this get a pruned tree by default."""
DEFAULT_TOP = 20


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def fmt_score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def fmt_usd(value: float) -> str:
    return f"${value:.4f}" if value else "-"


def agent_json(agent: AgentRecord, count: TaskCount | None = None) -> dict[str, Any]:
    """The agent's fields; with its task count, also `tasks`, `passed` and `ci95` (the 95%
    Wilson interval of its score)."""
    data = dataclasses.asdict(agent)
    if count is not None:
        stat = stat_of(agent, count).as_dict()
        data.update(tasks=stat["tasks"], passed=stat["passed"], ci95=stat["ci95"])
    return data


def stat_of(agent: AgentRecord, count: TaskCount | None) -> ScoreStat:
    count = count or TaskCount(0, 0)
    return score_stat(agent.score, count.passed, count.tasks)


def breakdown_table(scores: Sequence[SuiteScore], title: str = "Score per suite") -> Table:
    """One row per suite, then one indented row per polyglot language under its suite:
    passed/tasks and the score with its 95% Wilson interval (`archive.scores.breakdown`)."""
    table = Table(title=title, title_justify="left")
    for name, justify in (("suite", "left"), ("passed", "right"), ("score [95% CI] n", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in scores:
        table.add_row(Text(s.suite, style="bold"), f"{s.passed}/{s.tasks}", s.stat.text())
        for part in s.languages:
            table.add_row(f"  {part.name}", f"{part.passed}/{part.tasks}", part.stat.text())
    return table


# ls


def ls_json(rows: Sequence[AgentSummary], counts: Mapping[str, TaskCount], verdicts: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """`verdicts`: agent id -> approve/reject in force (dgm.review.latest_verdicts); absent: none."""
    return [
        {**agent_json(r.agent, counts.get(r.agent.id)), "children": r.children, "cost_usd": r.cost_usd, "verdict": (verdicts or {}).get(r.agent.id)}
        for r in rows
    ]


VERDICT_LABEL = {"approve": Text("approved", style="green"), "reject": Text("rejected", style="red")}


def ls_table(
    rows: Sequence[AgentSummary], total: int, best_id: str | None = None, counts: Mapping[str, TaskCount] | None = None,
    verdicts: Mapping[str, str] | None = None,
) -> RenderableType:
    table = Table(title=f"Agents ({len(rows)} of {total})" if len(rows) < total else f"Agents ({total})", title_justify="left")
    for name, justify in (("id", "left"), ("parent", "left"), ("iter", "right"), ("status", "left"), ("score [95% CI] n", "right"), ("children", "right"), ("cost", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        a = r.agent
        ident = Text(a.id, style="bold green" if a.id == best_id else "")
        if a.id == best_id:
            ident.append(" *", style="bold green")
        table.add_row(
            ident, a.parent_id or "-", str(a.iteration), Text(a.status, style=STATUS_STYLE.get(a.status, "")),
            stat_of(a, (counts or {}).get(a.id)).text(), str(r.children), fmt_usd(r.cost_usd),
            VERDICT_LABEL.get((verdicts or {}).get(a.id, ""), Text("-", style="dim")),
        )
    if len(rows) < total:
        table.caption = f"{total - len(rows)} more; use --limit 0 for all"
    return table


# tree


@dataclass(repr=False)
class TreeNode:
    agent: AgentRecord
    via: list[AgentRecord] = field(default_factory=list)
    """Folded pass-through ancestors between the displayed parent and this agent."""
    children: list["TreeNode"] = field(default_factory=list)
    hidden: int = 0
    """Descendants not shown below this node (pruned or beyond the depth)."""
    hidden_best: float | None = None


@dataclass(repr=False)
class Lineage:
    roots: list[TreeNode]
    best_id: str | None
    best_path: set[str]
    total: int
    shown: int
    pruned: bool


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def best_agent(agents: Iterable[AgentRecord], counts: Mapping[str, TaskCount] | None = None) -> AgentRecord | None:
    """The archive's best (archive.best): deepest-evaluated first, then score."""
    from dgm.archive.best import Ranked, best_of

    scored = {a.id: a for a in agents if a.status == "evaluated" and a.score is not None}
    tasks = {i: c.tasks for i, c in (counts or {}).items()}
    found = best_of([Ranked(a.id, a.score, tasks.get(a.id, 0), a.seq) for a in scored.values() if a.score is not None])
    return scored[found.id] if found else None


def build_lineage(
    agents: Sequence[AgentRecord], top: int | None = None, depth: int | None = None, counts: Mapping[str, TaskCount] | None = None
) -> Lineage:
    """The tree to show. With `top`, only the `top` best agents, the best path and the seeds
    are kept (with their ancestors); pass-through ancestors fold into their child's line."""
    by_id = {a.id: a for a in agents}
    kids: dict[str | None, list[AgentRecord]] = {}
    for a in sorted(agents, key=lambda a: a.seq):
        kids.setdefault(a.parent_id if a.parent_id in by_id else None, []).append(a)
    size: dict[str, int] = {}
    sub_best: dict[str, float | None] = {}
    for a in sorted(agents, key=lambda a: a.seq, reverse=True):  # children before parents
        size[a.id] = 1 + sum(size[c.id] for c in kids.get(a.id, []))
        own = a.score if a.status == "evaluated" else None
        for c in kids.get(a.id, []):
            own = _max(own, sub_best[c.id])
        sub_best[a.id] = own
    best = best_agent(agents, counts)
    best_path: set[str] = set()
    on_path = best
    while on_path is not None:
        best_path.add(on_path.id)
        on_path = by_id.get(on_path.parent_id) if on_path.parent_id else None
    pruned = top is not None and top < len(agents)
    if pruned:
        ranked = sorted((a for a in agents if a.status == "evaluated" and a.score is not None), key=lambda a: (-(a.score or 0), a.seq))
        interesting = {a.id for a in ranked[:top]} | {a.id for a in kids.get(None, [])} | ({best.id} if best else set())
        keep: set[str] = set()
        for start in interesting:
            ident: str | None = start
            while ident and ident not in keep:
                keep.add(ident)
                ident = by_id[ident].parent_id if by_id[ident].parent_id in by_id else None
    else:
        interesting = keep = set(by_id)

    def hide(node: TreeNode, agent: AgentRecord) -> None:
        node.hidden += size[agent.id]
        node.hidden_best = _max(node.hidden_best, sub_best[agent.id])

    roots: list[TreeNode] = []
    shown = 0
    # iterative, so a lineage thousands deep cannot hit the recursion limit
    stack: list[tuple[AgentRecord, int, list[TreeNode]]] = [(a, 0, roots) for a in reversed(kids.get(None, []))]
    while stack:
        agent, level, siblings = stack.pop()
        node = TreeNode(agent)
        while pruned and agent.id not in interesting:  # fold pass-through ancestors into one line
            kept = [k for k in kids.get(agent.id, []) if k.id in keep]
            if len(kept) != 1:
                break
            for other in kids.get(agent.id, []):
                if other.id not in keep:
                    hide(node, other)
            node.via.append(agent)
            agent = node.agent = kept[0]
        shown += 1 + len(node.via)
        siblings.append(node)
        for child in reversed(kids.get(agent.id, [])):
            if child.id not in keep or (depth is not None and level + 1 > depth):
                hide(node, child)
            else:
                stack.append((child, level + 1, node.children))
    return Lineage(roots, best.id if best else None, best_path, len(agents), shown, pruned)


def walk(nodes: Iterable[TreeNode]) -> Iterable[TreeNode]:
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def _node_label(node: TreeNode, lineage: Lineage) -> Text:
    a = node.agent
    on_path = a.id in lineage.best_path
    text = Text()
    if node.via:
        ids = [v.id for v in node.via]
        if len(ids) > 4:
            ids = [ids[0], f"… {len(ids) - 2} …", ids[-1]]
        text.append(" › ".join(ids) + " › ", style="green dim" if on_path else "dim")
    text.append(a.id, style="bold green" if on_path else "bold")
    text.append(f"  {fmt_score(a.score)}", style="green" if on_path else "")
    if a.status != "evaluated":
        text.append(f"  {a.status}", style=STATUS_STYLE.get(a.status, ""))
    if a.id == lineage.best_id:
        text.append("  ★ best", style="bold green")
    return text


def tree_view(lineage: Lineage) -> RenderableType:
    title = Text("Lineage", style="bold")
    if lineage.pruned:
        title.append(f"  ({lineage.shown} of {lineage.total} agents: the best, their ancestors and the seeds; --top/--all to change)", style="dim")
    tree = Tree(title, guide_style="dim")
    stack: list[tuple[Tree, TreeNode | Text]] = [(tree, root) for root in reversed(lineage.roots)]
    while stack:  # iterative: deep lineages must not hit the recursion limit
        parent, item = stack.pop()
        if isinstance(item, Text):
            parent.add(item)
            continue
        branch = parent.add(_node_label(item, lineage), guide_style="green" if item.agent.id in lineage.best_path else "dim")
        if item.hidden:  # pushed first, so it prints after the children's subtrees
            best = f" (best {fmt_score(item.hidden_best)})" if item.hidden_best is not None else ""
            stack.append((branch, Text(f"… {item.hidden} more descendant{'s' if item.hidden != 1 else ''}{best}", style="dim")))
        stack.extend((branch, child) for child in reversed(item.children))
    return tree


def tree_json(agents: Sequence[AgentRecord], children: dict[str, int], counts: Mapping[str, TaskCount] | None = None) -> dict[str, Any]:
    best = best_agent(agents, counts)
    by_id = {a.id: a for a in agents}
    path: list[str] = []
    node = best
    while node is not None:
        path.append(node.id)
        node = by_id.get(node.parent_id) if node.parent_id else None
    return {
        "best": best.id if best else None,
        "best_path": path[::-1],
        "agents": [
            {"id": a.id, "parent_id": a.parent_id, "iteration": a.iteration, "status": a.status, "score": a.score, "children": children.get(a.id, 0)}
            for a in agents
        ],
    }


# show


@dataclass(frozen=True)
class AgentDetail:
    agent: AgentRecord
    children: int
    evaluations: list[EvaluationRecord]
    files: list[FileChange]
    spend: Spend
    reviews: list[ReviewRecord]
    count: TaskCount = TaskCount(0, 0)
    """Distinct tasks the score rests on."""
    reused_from: dict[int, str] = field(default_factory=dict)
    """Evaluation id -> agent, for the evaluations these results were reused from."""
    suites: list[SuiteScore] = field(default_factory=list)
    """The score per suite and per polyglot language (`Queries.suite_scores`)."""


META_ORDER = ("problem_statement", "improvement_proposal", "implementation_suggestion", "log_summary")


def show_json(d: AgentDetail) -> dict[str, Any]:
    return {
        **agent_json(d.agent, d.count),
        "children": d.children,
        "breakdown": breakdown_json(d.suites),
        "evaluations": [{**dataclasses.asdict(e), "reused_from_agent": d.reused_from.get(e.reused_from or -1)} for e in d.evaluations],
        "files_changed": [dataclasses.asdict(f) for f in d.files],
        "spend": {**dataclasses.asdict(d.spend), "tokens": d.spend.tokens},
        "reviews": [dataclasses.asdict(r) for r in d.reviews],
    }


def show_view(d: AgentDetail, meta_width: int = 600) -> RenderableType:
    a = d.agent
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("agent", Text(a.id, style="bold"))
    head.add_row("parent", a.parent_id or "- (seed)")
    head.add_row("iteration", str(a.iteration))
    head.add_row("status", Text(a.status + (f": {a.status_reason}" if a.status_reason else ""), style=STATUS_STYLE.get(a.status, "")))
    head.add_row("score", stat_of(a, d.count).text() + ("  (95% Wilson interval, n tasks)" if d.count.tasks else ""))
    head.add_row("origin", a.origin)
    head.add_row("created", a.created_at)
    head.add_row("commit", a.commit[:12] + f"  (tree {a.tree_hash[:12]})")
    head.add_row("children", str(d.children))
    head.add_row("cost", f"{fmt_usd(d.spend.usd)}  {d.spend.calls} LLM calls, {d.spend.tokens:,} tokens")
    parts: list[RenderableType] = [head]
    if d.suites:
        parts.append(breakdown_table(d.suites))
    if d.evaluations:
        table = Table(title="Evaluations", title_justify="left")
        for name in ("suite", "stage", "score", "passed", "finished", "reused"):
            table.add_column(name)
        for e in d.evaluations:
            passed = f"{e.n_passed}/{e.n_tasks}" if e.n_passed is not None else f"?/{e.n_tasks}"
            source = d.reused_from.get(e.reused_from, f"evaluation #{e.reused_from}") if e.reused_from else ""
            table.add_row(e.suite, str(e.stage + 1), fmt_score(e.score), passed, e.finished_at or "running", f"from {source}" if source else "")
        parts.append(table)
    files = Table(title=f"Files changed ({len(d.files)})" + (" vs parent" if a.parent_id else " (seed: all added)"), title_justify="left")
    for name in ("path", "change", "+", "-"):
        files.add_column(name, justify="right" if name in "+-" else "left")
    for f in d.files:
        files.add_row(f.path, f.change, Text(str(f.added), style="green"), Text(str(f.deleted), style="red"))
    parts.append(files)
    for key in [*(k for k in META_ORDER if k in a.meta), *sorted(k for k in a.meta if k not in META_ORDER)]:
        value = str(a.meta[key])
        clipped = value if len(value) <= meta_width else value[:meta_width] + " …"
        parts.append(Text.assemble((key.replace("_", " ") + ": ", "bold"), clipped))
    if d.reviews:
        reviews = Table(title="Reviews", title_justify="left")
        for name in ("when", "verdict", "note"):
            reviews.add_column(name)
        for r in d.reviews:
            reviews.add_row(r.created_at, Text(r.verdict, style=VERDICT_STYLE.get(r.verdict, "")), r.note)
        parts.append(reviews)
    return Group(*parts)


# best, verify


def best_view(agent: AgentRecord | None, count: TaskCount | None = None) -> RenderableType:
    if agent is None:
        return Text("no evaluated agent yet", style="yellow")
    return Text.assemble(("best ", "bold"), (agent.id, "bold green"), f"  score {stat_of(agent, count).text()}  iteration {agent.iteration}  parent {agent.parent_id or '-'}")


def verify_json(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok, "agents": report.agents, "commits": report.commits,
        "issues": [dataclasses.asdict(i) for i in report.issues], "skipped": list(report.skipped),
    }


def verify_view(report: VerifyReport) -> RenderableType:
    summary = Text(f"{plural(report.agents, 'agent')}, {plural(report.commits, 'commit')}: ")
    notes = [Text(f"note: {reason}", style="dim") for reason in report.skipped]
    if not report.issues:
        return Group(summary.append("consistent", style="bold green"), *notes)
    summary.append("consistent after repair" if report.ok else "INCONSISTENT", style="bold green" if report.ok else "bold red")
    table = Table(show_header=True)
    for name in ("kind", "agent", "detail", "repaired"):
        table.add_column(name)
    for issue in report.issues:
        table.add_row(Text(issue.kind, style="green" if issue.repaired else "red"), issue.agent_id or "-", issue.message, "yes" if issue.repaired else "no")
    return Group(summary, table, *notes)
