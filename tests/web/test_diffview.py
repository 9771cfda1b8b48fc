"""The side-by-side diff rows (pure): pairing, numbering, gaps between hunks, escaping."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dgm.web.diffview import side_by_side


def git_diff(tmp_path: Path, before: str, after: str, name: str = "mod.py") -> str:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / name).write_text(before)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "base"], check=True)
    (repo / name).write_text(after)
    return subprocess.run(git + ["diff"], check=True, capture_output=True, text=True).stdout


def test_rows_pair_changes_and_mark_the_gap_between_hunks(tmp_path: Path) -> None:
    before = "".join(f"line_{i} = {i}\n" for i in range(1, 41))
    after = before.replace("line_3 = 3", "line_3 = 'three'").replace("line_30 = 30\n", "line_30 = 30\nextra = '<b>'\n")
    [view] = side_by_side(git_diff(tmp_path, before, after))
    kinds = [(left.kind, right.kind) for left, right, _ in view.rows]
    assert kinds.count(("gap", "gap")) == 1
    changed = [(left.number, right.number) for left, right, _ in view.rows if left.kind == "del"]
    assert changed == [(3, 3)]
    added = [right for left, right, _ in view.rows if right.kind == "add" and left.kind == "empty"]
    assert [a.number for a in added] == [31] and "&lt;b&gt;" in added[0].html and "<b>" not in added[0].html
    gap = kinds.index(("gap", "gap"))
    assert all(left.number is None or left.number < 10 for left, _, _ in view.rows[:gap])
    assert (view.added, view.removed) == (2, 1)


def test_line_notes_attach_to_the_new_line(tmp_path: Path) -> None:
    class Note:
        note = "why?"
        created_at = "2026-01-01T00:00"

    diff = git_diff(tmp_path, "a = 1\nb = 2\n", "a = 1\nb = 3\n")
    [view] = side_by_side(diff, {("mod.py", 2): [Note()]})
    [(left, right, notes)] = [row for row in view.rows if row[2]]
    assert right.number == 2 and right.kind == "add" and notes[0].note == "why?"
