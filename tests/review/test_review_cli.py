"""Review flows through the real CLI (subprocesses) on a real archive (SQLite + git in tmp_path);
the gate honoured by the loop's parent selection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dgm.archive import Archive
from dgm.report.demo import build_demo_archive


def dgm(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dgm.cli", *args], input=stdin, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "TERM": "dumb"},
    )


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A small run: a seed, children (some invalid), evaluations, ledger; no reviews yet."""
    archive, _ = build_demo_archive(tmp_path / "run", 12, seed=3, reviewer=False)
    archive.close()
    return tmp_path / "run"


def pending(run: Path) -> list[str]:
    result = dgm("review", "ls", "--json", "--run", str(run))
    assert result.returncode == 0, result.stderr
    return [row["id"] for row in json.loads(result.stdout)]


def test_ls_lists_evaluated_children_oldest_first(run: Path) -> None:
    with Archive.open(run, readonly=True) as archive:
        expected = [a.id for a in sorted(archive.agents(status="evaluated"), key=lambda a: a.seq) if a.parent_id]
        invalid = {a.id for a in archive.agents(status="invalid")}
    assert expected and invalid
    assert pending(run) == expected


def test_approve_reject_note_are_kept_with_their_time(run: Path) -> None:
    first, second, third = pending(run)[:3]
    assert dgm("review", "approve", first, "--note", "clean change", "--run", str(run)).returncode == 0
    assert dgm("review", "reject", second, "--run", str(run)).returncode == 0
    assert dgm("review", "note", third, "--note", "check the prompt", "--run", str(run)).returncode == 0
    with Archive.open(run, readonly=True) as archive:
        kept = {(r.agent_id, r.verdict, r.note) for r in archive.reviews()}
        assert all(r.created_at.startswith("20") for r in archive.reviews())
    assert kept == {(first, "approve", "clean change"), (second, "reject", ""), (third, "note", "check the prompt")}
    left = pending(run)
    assert first not in left and second not in left and third in left  # a note decides nothing


def test_bad_input_is_one_line_and_changes_nothing(run: Path) -> None:
    unknown = dgm("review", "approve", "a999", "--run", str(run))
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "a999" in unknown.stderr
    empty_note = dgm("review", "note", pending(run)[0], "--run", str(run))
    assert empty_note.returncode == 2
    with Archive.open(run, readonly=True) as archive:
        assert archive.reviews() == []


def test_interactive_review_walks_the_queue(run: Path) -> None:
    queue = pending(run)
    # approve the first (no note), note then reject the second, skip the third, quit.
    answers = "a\n\nn\nsuspicious retry loop\nr\ntoo risky\ns\nq\n"
    result = dgm("review", "--run", str(run), stdin=answers)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index(f"Agent {queue[0]}") < out.index("Diagnosis") < out.index("Scores against the parent") < out.index("diff --git")
    assert "Cost: $" in out and f"Agent {queue[2]}" in out
    with Archive.open(run, readonly=True) as archive:
        kept = [(r.agent_id, r.verdict, r.note) for r in archive.reviews()]
    assert kept == [(queue[0], "approve", ""), (queue[1], "note", "suspicious retry loop"), (queue[1], "reject", "too risky")]
    assert pending(run) == queue[2:]


def test_interactive_review_shows_flags_first(tmp_path: Path) -> None:
    run = tmp_path / "flagged"
    archive, _ = build_demo_archive(run, 1)
    seed = archive.agents()[0]
    files = {p: d for p, d in archive.read_tree(seed.id).items()}
    files["tests/test_tools.py"] = b"def test_shell():\n    assert True\n"
    child = archive.add_child(seed.id, files, iteration=1, meta={"diagnosis": "d", "problem_statement": "p"})
    archive.set_score(child.id, 1.0)
    archive.set_status(child.id, "evaluated")
    archive.close()
    result = dgm("review", "next", "--run", str(run), stdin="q\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "protected-path" in out and "tests/test_tools.py:2" in out
    assert out.index("protected-path") < out.index("Diagnosis") < out.index("diff --git")


def test_end_of_input_stops_cleanly(run: Path) -> None:
    result = dgm("review", "--run", str(run), stdin="")
    assert result.returncode == 0 and "end of input" in result.stdout
    with Archive.open(run, readonly=True) as archive:
        assert archive.reviews() == []
