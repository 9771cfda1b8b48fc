"""A child's replay record, and a run that resumes after export and import (scripted model,
real Docker, git and SQLite)."""

from __future__ import annotations

import json

import pytest

from tests.loop.conftest import dgm

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_replay_record_then_export_import_and_resume(make_run, tmp_path):
    from dgm.archive import Archive

    run_dir = make_run(iterations=1)
    dgm("run", "--run", str(run_dir), check=True)
    with Archive.open(run_dir, readonly=True) as store:
        child = next(a for a in store.agents() if a.origin != "seed")
        before = [(a.id, a.parent_id, a.commit, a.score) for a in store.agents()]

    record = json.loads(dgm("archive", "show", child.id, "--replay", "--json", "--run", str(run_dir), check=True).stdout)
    facts = record["facts"]
    assert facts["model"] == "scripted:dry-run" and facts["run_seed"] == 7 and facts["iteration"] == 1
    assert facts["sandbox_image_digest"].startswith(("sha256:", "rootfs-recipe:")) and len(facts["config_sha256"]) == 64
    assert facts["dgm_version"] and facts["temperature"] == 0.7
    assert "problem_statement" in record["diagnosis_answer"] and record["diagnosis_prompt"][0]["role"] == "system"
    assert "exit:" in record["self_modify_transcript"] and record["missing"] == []
    shown = dgm("archive", "show", child.id, "--replay", "--run", str(run_dir), check=True).stdout
    assert "diagnosis prompt" in shown and "sandbox image digest" in shown

    exported = tmp_path / "moved.tar.gz"
    dgm("archive", "export-run", str(run_dir), str(exported), check=True)
    copy = tmp_path / "other-machine" / "run"
    dgm("archive", "import-run", str(exported), str(copy), check=True)
    config = copy / "run.toml"
    config.write_text(config.read_text().replace("max_iterations = 1", "max_iterations = 2"))
    dgm("run", "--run", str(copy), check=True)
    with Archive.open(copy, readonly=True) as store:
        assert store.verify().ok
        agents = store.agents()
        assert [(a.id, a.parent_id, a.commit, a.score) for a in agents][: len(before)] == before
        assert len([a for a in agents if a.origin != "seed"]) == 2
