"""verify: the database against git, both ways; repairs only what is safe."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dgm.archive import Archive, Reader


def git(run: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(["git", "--git-dir", str(run / "agents.git"), *args], check=True, capture_output=True, text=True, input=input).stdout.strip()


def kinds(report) -> list[tuple[str, str | None]]:
    return [(issue.kind, issue.agent_id) for issue in report.issues]


def test_consistent_family_verifies(family):
    with Reader.open(family.run) as reader:
        report = reader.verify()
    assert report.ok and report.agents == 4 and report.commits == 4 and not report.issues


def test_missing_commit_is_detected_not_repaired(family):
    with Reader.open(family.run) as reader:
        commit = reader.get("a4").commit
    git(family.run, "update-ref", "-d", "refs/agents/a4")
    (family.run / "agents.git" / "objects" / commit[:2] / commit[2:]).unlink()
    with Reader.open(family.run) as reader:
        report = reader.verify(repair=True)
    assert not report.ok
    assert ("missing-commit", "a4") in kinds(report) and ("missing-ref", "a4") in kinds(report)
    assert not any(issue.repaired for issue in report.issues)


def test_row_less_commit_and_ref_are_listed_never_deleted(family):
    tree = git(family.run, "rev-parse", "refs/agents/a2^{tree}")
    parent = git(family.run, "rev-parse", "refs/agents/a2")
    stray = git(family.run, "commit-tree", tree, "-p", parent, "-m", "written, then the daemon died")
    dangling = git(family.run, "commit-tree", tree, "-m", "no ref either")
    git(family.run, "update-ref", "refs/agents/a9", stray)
    with Archive.open(family.run) as store:
        report = store.verify(repair=True)
    assert not report.ok
    found = {(issue.kind, issue.commit) for issue in report.issues}
    assert found == {("orphan-ref", stray), ("orphan-commit", dangling)}
    git(family.run, "gc", "--quiet")  # the repository's housekeeping never prunes evidence
    assert git(family.run, "cat-file", "-t", dangling) == "commit"  # kept
    assert git(family.run, "rev-parse", "refs/agents/a9") == stray


def test_missing_ref_is_repaired_and_wrong_parent_reported(family):
    git(family.run, "update-ref", "-d", "refs/agents/a2")
    with Reader.open(family.run) as reader:
        assert [i.kind for i in reader.verify().issues] == ["missing-ref"]
        report = reader.verify(repair=True)
        assert report.ok and report.issues[0].repaired
        assert reader.verify().ok and not reader.verify().issues
        a3 = reader.get("a3")
    # rewrite a3's row so its recorded parent no longer matches its git parent
    import sqlite3

    conn = sqlite3.connect(family.run / "archive.db")
    conn.execute("UPDATE agents SET parent_id = 'a2' WHERE id = 'a3'")
    conn.commit()
    conn.close()
    with Reader.open(family.run) as reader:
        report = reader.verify()
    assert kinds(report) == [("wrong-parent", "a3")] and a3.commit == report.issues[0].commit
