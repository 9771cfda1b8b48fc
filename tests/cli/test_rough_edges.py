"""Rough edges of the CLI found by a new user (issue 14), each through the real CLI on a real
archive (SQLite + git in tmp_path)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archive import Archive
from dgm.cli import COMMANDS
from dgm.report.demo import build_demo_archive


def dgm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dgm.cli", *args], capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "TERM": "dumb"},
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edges") / "run"
    archive, _ = build_demo_archive(root, 8, seed=3, reviewer=False)
    archive.close()
    return root


def test_archive_diff_help_and_output_agree_on_the_old_side(run: Path) -> None:
    help_text = dgm("archive", "diff", "--help").stdout
    assert "from A (old side" in help_text and "to B (new side" in help_text
    result = json.loads(dgm("archive", "diff", "a1", "a3", "--json", "--run", str(run)).stdout)
    assert (result["old"], result["new"]) == ("a1", "a3")
    with Archive.open(run, readonly=True) as archive:
        assert result["diff"] == archive.diff("a1", "a3")
        old_tree, new_tree = archive.read_tree("a1"), archive.read_tree("a3")
    changed = next(f for f in result["files"] if f["change"] == "modified")
    removed = [line[1:] for line in result["diff"].splitlines() if line.startswith("-") and not line.startswith("---")]
    old_text = old_tree[changed["path"]].decode()
    assert removed and all(line in old_text for line in removed)  # '-' lines come from A
    assert old_tree != new_tree
    parent = json.loads(dgm("archive", "diff", "a3", "--json", "--run", str(run)).stdout)
    with Archive.open(run, readonly=True) as archive:
        assert (parent["old"], parent["new"]) == (archive.get("a3").parent_id, "a3")


def test_export_and_report_accept_json(run: Path, tmp_path: Path) -> None:
    exported = dgm("archive", "export", "a2", str(tmp_path / "code"), "--json", "--run", str(run))
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["id"] == "a2" and "agent.py" in data["files"]
    report = dgm("report", "--json", "--out", str(tmp_path / "report"), "--top", "2", "--run", str(run))
    assert report.returncode == 0, report.stderr
    files = json.loads(report.stdout)
    assert Path(files["html"]).is_file() and files["dry_run"] is True and len(files["figures"]) == 3


def test_shell_completion_options_appear_nowhere() -> None:
    for name in COMMANDS:
        assert "--install-completion" not in dgm(name, "--help").stdout, name


def test_stages_are_one_based_for_people_and_reuse_names_the_agent(tmp_path: Path) -> None:
    run = tmp_path / "run"
    archive, _ = build_demo_archive(run, 3, seed=3, reviewer=False)
    with archive:
        first = archive.evaluations("a1")[0]
        assert first.stage == 0  # the archive and --json count stages from 0
        again = archive.start_evaluation("a3", "custom", 0, first.n_tasks, reused_from=first.id)
        archive.finish_evaluation(again, 0.5, 5)
    shown = dgm("archive", "show", "a3", "--run", str(run)).stdout
    cells = next(line for line in shown.splitlines() if "custom" in line).replace("│", "|").split("|")
    cells = [c.strip() for c in cells if c.strip()]
    assert cells[:2] == ["custom", "1"] and cells[-1] == "from a1"
    as_json = json.loads(dgm("archive", "show", "a3", "--json", "--run", str(run)).stdout)
    reused = next(e for e in as_json["evaluations"] if e["suite"] == "custom")
    assert reused["stage"] == 0 and reused["reused_from_agent"] == "a1"
