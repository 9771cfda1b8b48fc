"""A report over an archive whose git lacks one agent's commit: written anyway, that diff noted."""

from __future__ import annotations

import subprocess

from tests.archive.archive_family import build_family

from dgm.archive import Archive, ArchiveConsistencyError


def drop_commit(run, agent_id: str) -> None:
    git = ["git", "--git-dir", str(run / "agents.git")]
    subprocess.run([*git, "update-ref", "-d", f"refs/agents/{agent_id}"], check=True)
    subprocess.run([*git, "-c", "gc.reflogExpire=now", "reflog", "expire", "--all"], check=True)
    subprocess.run([*git, "prune", "--expire=now"], check=True)


def test_a_missing_commit_is_named_and_the_report_is_still_written(tmp_path):
    from dgm.report import build_report

    family = build_family(tmp_path)
    drop_commit(family.run, family.grandchild)
    with Archive.open(family.run, readonly=True) as store:
        try:
            store.diff(family.grandchild)
        except ArchiveConsistencyError as exc:
            assert family.grandchild in str(exc) and "dgm archive verify" in str(exc)
        else:
            raise AssertionError("the diff of an agent without its commit must fail clearly")
        files = build_report(store, tmp_path / "report", "t")
    page = (tmp_path / "report" / "diffs" / f"{family.grandchild}.diff").read_text()
    assert page.startswith("# diff unavailable:") and files.html.stat().st_size > 0
