"""Rough edges of the CLI found by a new user (issue 14), each through the real CLI on a real
archive (SQLite + git in tmp_path)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dgm.archive import Archive
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
    assert any(f["change"] == "modified" for f in result["files"])
    removed = [line[1:] for line in result["diff"].splitlines() if line.startswith("-") and not line.startswith("---")]
    old_text = "\n".join(data.decode() for data in old_tree.values())
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


def test_cap_note_says_when_the_runs_cap_cuts_iterations_short() -> None:
    from dgm.cli.runs_daemon import cap_note

    assert cap_note(0, 7, 3) == ""  # no cap
    assert cap_note(10, 2, 3) == ""  # room enough
    assert "at most 1 more" in cap_note(4, 3, 3) and "max_iterations = 4" in cap_note(4, 3, 3)
    assert "none more" in cap_note(4, 4, 3) and "none more" in cap_note(4, 4, 0)
    assert cap_note(4, 1, 0) == ""


def test_no_dry_run_banner_before_a_refusal(tmp_path: Path) -> None:
    from dgm.loop.lock import daemon_lock

    run = tmp_path / "run"
    build_demo_archive(run, 2, seed=3, reviewer=False)[0].close()
    with daemon_lock(run):
        result = dgm("run", "--run", str(run))
    assert result.returncode == 2 and "another 'dgm run'" in result.stderr
    assert "DRY RUN" not in result.stdout + result.stderr


@pytest.mark.docker
def test_run_says_its_cap_before_it_stops_on_it(tmp_path: Path) -> None:
    """`make run` twice on a run capped at max_iterations: the second says why nothing is made."""
    run = tmp_path / "run"
    archive, _ = build_demo_archive(run, 2, seed=3, reviewer=False)
    with archive:
        for i in range(4):
            job = archive.enqueue_job("child", {"iteration": i + 1, "parent": "a1"})
            archive.finish_job(job, ok=True)
    result = dgm("run", "--run", str(run), "--iterations", "3")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "max_iterations = 4" in out and "none more will be made" in out
    assert "reached 4 iterations (max_iterations in run.toml" in out
    assert out.index("DRY RUN") < out.index("max_iterations = 4")


def test_status_names_the_child_and_the_seed_being_evaluated(tmp_path: Path) -> None:
    run = tmp_path / "run"
    archive, _ = build_demo_archive(run, 3, seed=3, reviewer=False)
    with archive:
        archive.set_status("a1", "evaluating")  # a run's start: the seed is being evaluated
    table = dgm("status", "--run", str(run)).stdout
    flight = table[table.index("children in flight"):table.index("recent events") if "recent events" in table else None]
    assert "idle" not in flight and "a1" in flight and "evaluate" in flight
    with Archive.open(run) as archive:
        archive.set_status("a1", "evaluated")
        archive.enqueue_job("child", {"iteration": 7, "parent": "a1"})
        assert archive.claim_job(["child"]) is not None  # running, as the daemon would have it
        archive.log_event("stage", "iteration 7: evaluate", agent_id="a3", data={"iteration": 7, "stage": "evaluate"})
        archive.log_event("note", "something happened")
    flight = dgm("status", "--run", str(run)).stdout
    row = next(line for line in flight.splitlines() if "evaluate" in line and "7" in line)
    assert "a3" in row and "a1" in row  # the child, and its parent
    data = json.loads(dgm("status", "--json", "--run", str(run)).stdout)
    assert data["in_flight"][0]["child_id"] == "a3"
    assert data["daemon_running"] is False and data["daemon_pid"] is None
    assert data["events"] and set(data["events"][-1]) == {"time", "kind", "message"}
    assert data["events"][-1]["time"].startswith("20") and "T" in data["events"][-1]["time"]
    assert data["spend_usd"] == round(data["spend_usd"], 4) and data["best_score"] == round(data["best_score"], 4)
