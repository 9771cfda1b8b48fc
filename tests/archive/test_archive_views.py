"""The views of `dgm archive`, rendered to text; and the browse path staying light."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from rich.console import Console

from dgm.archive.records import AgentRecord, AgentSummary, EvaluationRecord, FileChange, Issue, ReviewRecord, Spend, VerifyReport
from dgm.cli.archive_views import (
    AgentDetail,
    build_lineage,
    walk,
    ls_table,
    show_view,
    tree_json,
    tree_view,
    verify_view,
)


def render(renderable) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def agent(seq: int, parent: int | None, score: float | None, status: str = "evaluated", meta: dict | None = None) -> AgentRecord:
    return AgentRecord(f"a{seq}", seq, f"a{parent}" if parent else None, "c" * 40, "t" * 40, "2026-01-01T00:00:00+00:00",
                       seq, status, None, score, "seed" if parent is None else "self-modify", meta or {})


def test_ls_table_marks_best_and_counts_the_rest():
    rows = [AgentSummary(agent(1, None, 0.2), 2, 0.0), AgentSummary(agent(2, 1, 0.9), 0, 0.5), AgentSummary(agent(3, 1, None, "pending"), 0, 0.1)]
    text = render(ls_table(rows[::-1][:2], 3, best_id="a2"))
    assert "a2 *" in text and "0.900" in text and "$0.5000" in text and "1 more" in text
    assert [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")] == ["a3", "a2 *"]


def test_small_tree_shows_everything_with_best_path():
    agents = [agent(1, None, 0.2), agent(2, 1, 0.5), agent(3, 1, None, "invalid"), agent(4, 2, 0.7)]
    lineage = build_lineage(agents)
    assert lineage.best_id == "a4" and lineage.best_path == {"a1", "a2", "a4"} and lineage.shown == 4
    text = render(tree_view(lineage))
    assert text.index("a2") < text.index("a4") < text.index("a3") and "★ best" in text and "invalid" in text
    assert tree_json(agents, {"a1": 2})["best_path"] == ["a1", "a2", "a4"]


def test_large_tree_is_pruned_to_the_best_and_folded():
    # a long chain a1..a300 with a side branch at every node; the best is at the end of the chain
    agents = [agent(1, None, 0.1)]
    for i in range(2, 301):
        agents.append(agent(i, i - 1, 0.1 + i / 1000))
    for i in range(301, 601):
        agents.append(agent(i, i - 300, 0.05))
    lineage = build_lineage(agents, top=3)
    text = render(tree_view(lineage))
    lines = text.splitlines()
    assert lineage.total == 600 and len(lines) < 20, text
    assert "a300" in text and "★ best" in text and "a299" in text and "a298" in text
    assert "a1 › " not in text and "a2 › … 294 … › a297 › a298" in text  # pass-through ancestors folded into one line
    assert "more descendant" in text
    hidden = sum(n.hidden for n in walk(lineage.roots))
    assert hidden + lineage.shown == lineage.total


def test_depth_folds_deep_levels():
    agents = [agent(1, None, 0.1)] + [agent(i, i - 1, 0.1) for i in range(2, 11)]
    lineage = build_lineage(agents, depth=3)
    assert lineage.shown == 4 and "6 more descendants" in render(tree_view(lineage))


def test_show_view_has_meta_scores_files_reviews():
    detail = AgentDetail(
        agent=agent(2, 1, 0.6, meta={"problem_statement": "make edits atomic", "log_summary": "edits were lost"}),
        children=1,
        evaluations=[EvaluationRecord(1, "a2", "humaneval", 0, 0.6, 10, 6, "s", "f", None, "t", None)],
        files=[FileChange("agent.py", "modified", 3, 1)],
        spend=Spend(0.25, 100, 50, 2),
        reviews=[ReviewRecord(1, "a2", "reject", "touches tests", "when")],
    )
    text = render(show_view(detail))
    for needle in ("make edits atomic", "edits were lost", "humaneval", "6/10", "agent.py", "modified", "reject", "touches tests", "$0.2500", "150 tokens"):
        assert needle in text
    assert text.index("problem statement") < text.index("log summary")


def test_verify_view():
    clean = VerifyReport(3, 3)
    assert "consistent" in render(verify_view(clean)) and clean.ok
    bad = VerifyReport(3, 4, (Issue("orphan-commit", "commit abc has no agent row (kept)", None, "abc"),))
    assert "INCONSISTENT" in render(verify_view(bad)) and "orphan-commit" in render(verify_view(bad)) and not bad.ok


def test_browse_path_imports_neither_sqlmodel_nor_gitpython_nor_heavy_packages():
    probe = (
        "import sys, json\n"
        "import archive, archive.reader, dgm.cli.archive, dgm.cli.archive_views\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout))
    assert not loaded & {"sqlmodel", "sqlalchemy", "git", "litellm", "docker", "sklearn"}
