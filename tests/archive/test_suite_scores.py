"""An agent's score per suite and per polyglot language: the breakdown itself, the archive's
query on SQLite and PostgreSQL, and `dgm archive show` (text and --json) on real verdict rows."""

from __future__ import annotations

import json

import pytest
from test_archive_cli import dgm
from test_archive_views import render

from dgm.archive import Archive, Reader
from dgm.archive.scores import PartScore, SuiteScore, TaskVerdict, breakdown, language_of
from dgm.cli.archive_views import breakdown_table


def add_verdicts(store: Archive, agent_id: str, suite: str, stage: int, verdicts: dict[str, bool], finished: bool = True) -> None:
    evaluation = store.start_evaluation(agent_id, suite, stage, len(verdicts))
    for task_id, passed in verdicts.items():
        store.add_task_result(evaluation, task_id, passed, 1.0, "ok" if passed else "failed")
    if finished:
        store.finish_evaluation(evaluation, sum(verdicts.values()) / len(verdicts), sum(verdicts.values()))


@pytest.fixture
def scored(family) -> str:
    """The family's a2 (HumanEval/0 passed) also evaluated on more humaneval tasks and on
    polyglot exercises in three languages, with a polyglot stage redone and an unfinished one."""
    with Archive.open(family.run) as store:
        add_verdicts(store, family.child, "humaneval", 1, {"HumanEval/1": False, "HumanEval/2": True})
        add_verdicts(store, family.child, "polyglot", 0, {"polyglot/go/a": True, "polyglot/go/b": False, "polyglot/rust/a": True})
        add_verdicts(store, family.child, "polyglot", 0, {"polyglot/go/a": True, "polyglot/go/b": True, "polyglot/rust/a": True})
        add_verdicts(store, family.child, "polyglot", 1, {"polyglot/java/x": False})
        add_verdicts(store, family.child, "polyglot", 2, {"polyglot/java/y": True}, finished=False)
    return family.child


EXPECTED = [
    SuiteScore("humaneval", 2, 3),
    SuiteScore("polyglot", 3, 4, (PartScore("go", 2, 2), PartScore("java", 0, 1), PartScore("rust", 1, 1))),
]


def test_breakdown_counts_each_task_once_and_splits_polyglot_by_language():
    assert language_of("polyglot/go/bob") == "go" and language_of("HumanEval/3") is None
    assert language_of("custom-x/polyglot") is None and language_of("swebench-i/django__django-1") is None
    verdicts = [TaskVerdict("humaneval", "HumanEval/0", True), ("polyglot-go", "polyglot/go/a", False),
                ("polyglot-go", "polyglot/go/a", True), ("humaneval", "HumanEval/1", False)]
    scores = breakdown(verdicts)
    assert scores == [SuiteScore("humaneval", 1, 2), SuiteScore("polyglot-go", 1, 1, (PartScore("go", 1, 1),))]
    assert scores[0].as_dict() == {"suite": "humaneval", "score": 0.5, "passed": 1, "tasks": 2, "ci95": [pytest.approx(0.0945, abs=1e-4), pytest.approx(0.9055, abs=1e-4)]}
    assert scores[1].as_dict()["languages"]["go"]["score"] == 1.0
    assert breakdown([]) == []


def test_the_archive_breaks_scores_down_per_suite_and_language(family, scored):
    with Reader.open(family.run) as reader:
        found = reader.suite_scores([scored, family.grandchild, family.sibling])
        counts = reader.task_counts()
    assert found[scored] == EXPECTED
    assert found[family.grandchild] == [SuiteScore("humaneval", 1, 1)]
    assert family.sibling not in found  # never evaluated
    assert sum(s.tasks for s in found[scored]) == counts[scored].tasks  # the same tasks the score rests on
    assert sum(s.passed for s in found[scored]) == counts[scored].passed
    with Archive.open(family.run, readonly=True) as store:  # the write path's store answers the same
        assert store.suite_scores([scored]) == {scored: EXPECTED}
        assert store.suite_scores([]) == {}


def test_archive_show_has_the_breakdown_in_text_and_json(family, scored):
    show = dgm("archive", "show", scored, "--run", str(family.run))
    assert show.returncode == 0, show.stderr
    text = show.stdout
    assert "Score per suite" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") == 4}
    assert "2/3" in rows["humaneval"] and "3/4" in rows["polyglot"] and "0/1" in rows["java"] and "n=4" in rows["polyglot"]
    assert text.index("polyglot") < text.index("go") < text.index("java") < text.index("rust")
    data = json.loads(dgm("archive", "show", scored, "--run", str(family.run), "--json").stdout)
    assert [s["suite"] for s in data["breakdown"]] == ["humaneval", "polyglot"]
    polyglot = data["breakdown"][1]
    assert (polyglot["passed"], polyglot["tasks"], polyglot["score"]) == (3, 4, 0.75) and len(polyglot["ci95"]) == 2
    assert {k: (v["passed"], v["tasks"]) for k, v in polyglot["languages"].items()} == {"go": (2, 2), "java": (0, 1), "rust": (1, 1)}
    assert "languages" not in data["breakdown"][0]
    seed = json.loads(dgm("archive", "show", family.sibling, "--run", str(family.run), "--json").stdout)
    assert seed["breakdown"] == []


def test_breakdown_table_has_a_row_per_suite_and_language():
    text = render(breakdown_table(EXPECTED))
    lines = [line for line in text.splitlines() if "/" in line]
    assert [line.split("│")[1].strip() for line in lines] == ["humaneval", "polyglot", "go", "java", "rust"]
    assert "0.750 [0.30, 0.95] n=4" in text and "0.667" in text
