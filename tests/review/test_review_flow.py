"""The reviewer's tools (issue 14), through the real CLI on a real archive (SQLite + git in tmp_path):
the verdict rule, bulk verdicts and filters, counters, line comments, twins and rejected parents,
difftool/editor, `best`, closed pipes, and `archive ls --verdict`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dgm.archive import Archive
from dgm.report.demo import build_demo_archive


def dgm(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dgm.cli", *args], input=stdin, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "160", "TERM": "dumb", **(env or {})},
    )


@pytest.fixture
def run(tmp_path: Path) -> Path:
    archive, _ = build_demo_archive(tmp_path / "run", 12, seed=3, reviewer=False)
    with archive:  # and, whatever the demo drew, a child that guts the seed's test
        seed = archive.agents()[0]
        files = archive.read_tree(seed.id)
        tests = next(path for path in files if path.startswith("tests/"))
        files[tests] = b"def test_anything():\n    assert True\n"
        child = archive.add_child(seed.id, files, iteration=99)
        archive.set_score(child.id, 0.5)
        archive.set_status(child.id, "evaluated")
    return tmp_path / "run"


def pending(run: Path, *filters: str) -> list[str]:
    result = dgm("review", "ls", "--json", "--run", str(run), *filters)
    assert result.returncode == 0, result.stderr
    return [row["id"] for row in json.loads(result.stdout)]


def verdicts(run: Path) -> list[tuple[str, str]]:
    with Archive.open(run, readonly=True) as archive:
        return [(r.agent_id, r.verdict) for r in archive.reviews()]


def test_changing_a_verdict_needs_force_and_says_so(run: Path) -> None:
    first = pending(run)[0]
    assert dgm("review", "reject", first, "--run", str(run)).returncode == 0
    refused = dgm("review", "approve", first, "--run", str(run))
    assert refused.returncode == 2 and "--force" in refused.stderr and refused.stderr.count("\n") == 1
    assert verdicts(run) == [(first, "reject")]
    again = dgm("review", "reject", first, "--run", str(run))
    assert again.returncode == 0 and "already" in again.stdout and verdicts(run) == [(first, "reject")]
    forced = dgm("review", "approve", first, "--force", "--run", str(run))
    assert forced.returncode == 0 and "replacing its earlier verdict: rejected" in forced.stdout
    assert verdicts(run) == [(first, "reject"), (first, "approve")]


def test_bulk_verdicts_check_every_id_before_writing(run: Path) -> None:
    a, b, c = pending(run)[:3]
    bad = dgm("review", "approve", a, "a999", "--run", str(run))
    assert bad.returncode == 2 and "a999" in bad.stderr and verdicts(run) == []
    result = dgm("review", "approve", a, b, c, "--json", "--run", str(run))
    assert result.returncode == 0, result.stderr
    assert [row["id"] for row in json.loads(result.stdout)] == [a, b, c]
    assert verdicts(run) == [(a, "approve"), (b, "approve"), (c, "approve")]


def test_filters_narrow_the_queue_and_drive_bulk_verdicts(run: Path) -> None:
    with Archive.open(run, readonly=True) as archive:
        agents = {a.id: a for a in archive.agents()}
    queue = pending(run)
    child = agents[queue[0]]
    assert pending(run, "--parent", child.parent_id) == [i for i in queue if agents[i].parent_id == child.parent_id]
    assert pending(run, "--iteration", str(child.iteration)) == [i for i in queue if agents[i].iteration == child.iteration]
    better = [i for i in queue if agents[i].score - agents[agents[i].parent_id].score >= 0.0]
    assert pending(run, "--min-change", "0") == better and 0 < len(better) < len(queue)
    result = dgm("review", "reject", "--filter", "--max-change", "-0.0001", "--run", str(run))
    assert result.returncode == 0, result.stderr
    assert {i for i, _ in verdicts(run)} == set(queue) - set(better)
    assert dgm("review", "approve", "--filter", "--run", str(run)).returncode == 2  # a filter with nothing in it


def test_flag_filter_selects_children_raising_that_kind(run: Path) -> None:
    rows = json.loads(dgm("review", "ls", "--json", "--limit", "0", "--run", str(run)).stdout)
    flagged = [r["id"] for r in rows if "protected-path" in r["flags"]]
    assert flagged, "the demo run makes some children that edit tests"
    assert pending(run, "--flag", "protected-path") == flagged
    assert pending(run, "--flag", "high") == [r["id"] for r in rows if "high" in r["severities"]]


def test_counters_advance_and_the_closing_line_tells_what_happened(run: Path) -> None:
    queue = pending(run)[:3]
    parent = None
    with Archive.open(run, readonly=True) as archive:
        parent = archive.get(queue[0]).parent_id
    answers = "a\n\nr\n\ns\n" + "s\n" * 20
    result = dgm("review", "--run", str(run), stdin=answers)
    assert result.returncode == 0, result.stderr
    n = len(pending(run)) + 2
    assert f"[1 of {n} waiting]" in result.stdout and f"[2 of {n} waiting]" in result.stdout and f"[3 of {n} waiting]" in result.stdout
    assert "1 approved, 1 rejected" in result.stdout and "skipped" in result.stdout
    assert "(3 skipped)" not in result.stdout and parent


def test_back_returns_to_the_previous_child(run: Path) -> None:
    first, second = pending(run)[:2]
    result = dgm("review", "--run", str(run), stdin="s\nb\nq\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count(f"review {first}") == 2 and out.index(f"review {second}") < out.rindex(f"review {first}")


def test_line_comment_is_kept_and_shown_beside_its_line(run: Path) -> None:
    child = pending(run)[0]
    with Archive.open(run, readonly=True) as archive:
        files = archive.changed_files(child)
    path = next(f.path for f in files if f.added)
    diff_lines = dgm("review", "show", child, "--json", "--run", str(run))
    added = json.loads(diff_lines.stdout)["diff"]
    # the first added line of that file, by its number in the new file
    from dgm.review.diffparse import parse_diff

    line = next(ln.new_no for fd in parse_diff(added) if fd.path == path for ln in fd.lines if ln.kind == "+")
    result = dgm("review", "note", child, "why retry here?", "--file", path, "--line", str(line), "--run", str(run))
    assert result.returncode == 0, result.stderr
    with Archive.open(run, readonly=True) as archive:
        [review] = archive.reviews(child)
    assert (review.verdict, review.file, review.line, review.note) == ("note", path, line, "why retry here?")
    shown = dgm("review", "show", child, "--file", path, "--run", str(run)).stdout.splitlines()
    at = next(i for i, text in enumerate(shown) if f"note on {path}:{line}" in text)
    assert "why retry here?" in shown[at] and shown[at - 1].startswith("+")
    past_end = dgm("review", "note", child, "x", "--file", path, "--line", "99999", "--run", str(run))
    assert past_end.returncode == 2 and "past its end" in past_end.stderr
    assert dgm("review", "note", child, "x", "--file", "nope.py", "--line", "1", "--run", str(run)).returncode == 2


def test_files_are_listed_with_counts(run: Path) -> None:
    child = pending(run)[0]
    out = dgm("review", "show", child, "--run", str(run)).stdout
    with Archive.open(run, readonly=True) as archive:
        files = archive.changed_files(child)
    assert "file(s) changed" in out
    for f in files:
        assert f.path in out and f"+{f.added}" in out and f"-{f.deleted}" in out
    second = dgm("review", "show", child, "--file", "1", "--run", str(run))
    assert second.returncode == 0 and f"b/{files[0].path}" in second.stdout
    assert dgm("review", "show", child, "--file", "99", "--run", str(run)).returncode == 2


def make_twins(run: Path) -> tuple[list[str], str]:
    """A run whose seed has two children with identical code, and a grandchild under the first."""
    archive, _ = build_demo_archive(run, 1)
    seed = archive.agents()[0]
    files = archive.read_tree(seed.id)
    files["agent.py"] = files["agent.py"] + b"\n# retry once more\n"
    made = []
    for _ in range(2):
        child = archive.add_child(seed.id, dict(files), iteration=1, meta={"diagnosis": "d"})
        archive.set_score(child.id, 0.5)
        archive.set_status(child.id, "evaluated")
        made.append(child.id)
    grandchild = archive.add_child(made[0], {**files, "tools.py": files["tools.py"] + b"\n# more\n"}, iteration=2, meta={})
    archive.set_score(grandchild.id, 0.5)
    archive.set_status(grandchild.id, "evaluated")
    archive.close()
    return made, grandchild.id


def test_identical_tree_and_rejected_parent_are_said(tmp_path: Path) -> None:
    run = tmp_path / "twins"
    made, grandchild = make_twins(run)
    assert dgm("review", "reject", made[0], "--run", str(run)).returncode == 0
    twin = dgm("review", "show", made[1], "--run", str(run)).stdout
    assert f"identical to {made[0]}, already rejected" in twin
    orphan = dgm("review", "show", grandchild, "--run", str(run)).stdout
    assert f"Its parent {made[0]} was rejected" in orphan
    # the twin's verdict is offered: an empty answer takes it
    result = dgm("review", "next", "--run", str(run), stdin="\nq\n")
    assert result.returncode == 0, result.stderr
    assert (made[1], "reject") in verdicts(run)


def test_reject_best_and_show_best(run: Path) -> None:
    with Archive.open(run, readonly=True) as archive:
        best = archive.best().id
    result = dgm("review", "reject", "best", "--run", str(run))
    assert result.returncode == 0, result.stderr
    assert verdicts(run) == [(best, "reject")]


def test_show_json_into_a_closed_pipe_exits_zero(run: Path) -> None:
    child = pending(run)[0]
    shell = f"{sys.executable} -m dgm.cli review show {child} --json --run {run} | head -1; echo \"rc=${{PIPESTATUS[0]}}\""
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert "rc=0" in result.stdout and "Traceback" not in result.stderr and "Broken pipe" not in result.stderr, result.stderr


def test_difftool_and_editor_open_the_childs_diff(run: Path, tmp_path: Path) -> None:
    child = pending(run)[0]
    seen = tmp_path / "seen.txt"
    tool = {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "diff.tool", "GIT_CONFIG_VALUE_0": "record",
        "GIT_CONFIG_KEY_1": "difftool.record.cmd", "GIT_CONFIG_VALUE_1": f'echo "$MERGED" >> {seen}',
    }
    result = dgm("review", "difftool", child, "--run", str(run), env=tool)
    assert result.returncode == 0, result.stderr
    with Archive.open(run, readonly=True) as archive:
        changed = {f.path for f in archive.changed_files(child)}
    assert set(seen.read_text().split()) == changed
    copy = tmp_path / "copy.diff"
    result = dgm("review", "difftool", child, "--editor", "--run", str(run), env={"EDITOR": f"cp -t {tmp_path}"})
    assert result.returncode == 0, result.stderr
    with Archive.open(run, readonly=True) as archive:
        assert (tmp_path / f"{child}.diff").read_text() == archive.diff(child)
    assert not copy.exists()


def test_archive_ls_shows_and_filters_the_current_verdict(run: Path) -> None:
    a, b = pending(run)[:2]
    assert dgm("review", "approve", a, "--run", str(run)).returncode == 0
    assert dgm("review", "reject", b, "--run", str(run)).returncode == 0
    rows = json.loads(dgm("archive", "ls", "--json", "--run", str(run)).stdout)
    assert {r["id"]: r["verdict"] for r in rows if r["verdict"]} == {a: "approve", b: "reject"}
    approved = json.loads(dgm("archive", "ls", "--json", "--verdict", "approved", "--run", str(run)).stdout)
    assert [r["id"] for r in approved] == [a]
    none = json.loads(dgm("archive", "ls", "--json", "--verdict", "none", "--run", str(run)).stdout)
    assert len(none) == len(rows) - 2
    table = dgm("archive", "ls", "--run", str(run)).stdout
    assert "verdict" in table and "approved" in table and "rejected" in table
    assert dgm("archive", "ls", "--verdict", "maybe", "--run", str(run)).returncode == 2


def test_interactive_file_jump_and_line_note(run: Path) -> None:
    child = pending(run)[0]
    with Archive.open(run, readonly=True) as archive:
        files = archive.changed_files(child)
    path = files[0].path
    answers = f"f\nl\nnope.py:1\nx\nl\n{path}:99999\nx\nl\n{path}:1\nname this better\nq\n"
    result = dgm("review", "--run", str(run), stdin=answers)
    assert result.returncode == 0, result.stderr
    after_f = result.stdout[result.stdout.index("file(s) changed", result.stdout.index("diff --git")):]
    assert "▶ 1" in after_f and f"b/{path}" in after_f  # the first file, marked, then its diff
    with Archive.open(run, readonly=True) as archive:
        [review] = archive.reviews(child)
    assert (review.verdict, review.file, review.line, review.note) == ("note", path, 1, "name this better")
    assert "Stopped." in result.stdout and child in pending(run)
    assert "has no file nope.py" in result.stdout and "fewer than 99999 lines" in result.stdout
