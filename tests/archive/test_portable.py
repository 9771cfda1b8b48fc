"""export-run / import-run: a run moves to another folder (machine) and is the same run there."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dgm.archive import Archive, RunFileError, export_run, import_run


def state(run: Path) -> dict:
    with Archive.open(run, readonly=True) as store:
        agents = [(a.id, a.parent_id, a.commit, a.tree_hash, a.status, a.score, a.iteration) for a in store.agents()]
        lineage = {a[0]: [x.id for x in store.lineage(a[0])] for a in agents}
        results = [(e.suite, e.stage, r.task_id, r.passed) for a in agents for e in store.evaluations(a[0]) for r in store.task_results(e.id)]
        return {"agents": agents, "lineage": lineage, "results": results, "counts": store.task_counts(),
                "spend": store.spend(), "reviews": [(r.agent_id, r.verdict) for r in store.reviews()],
                "diffs": {a[0]: store.diff(a[0]) for a in agents}}


def add_task_log(family) -> Path:
    with Archive.open(family.run) as store:
        log = store.logs_dir(family.child) / "eval" / "humaneval" / "t1.log"
        log.parent.mkdir(parents=True)
        log.write_text("the agent's own run\n")
        evaluation = store.start_evaluation(family.child, "humaneval", 1, 1)
        store.add_task_result(evaluation, "HumanEval/1", True, 1.0, "ok", log)
        store.finish_evaluation(evaluation, 1.0, 1)
    return log


@pytest.mark.sqlite_only("export-run packs the archive.db file")
def test_an_imported_run_is_the_same_run(family, tmp_path):
    add_task_log(family)
    before = state(family.run)
    exported = export_run(family.run, tmp_path / "out" / "run.tar.gz")
    assert exported.bytes > 0 and exported.run_name == "run"
    target = import_run(exported.path, tmp_path / "elsewhere" / "copy")
    with Archive.open(target, readonly=True) as store:
        assert store.verify().ok, store.verify().issues
        # the task log moved with the run and the database points at the new copy
        paths = [r.log_path for e in store.evaluations(family.child) for r in store.task_results(e.id) if r.log_path]
        assert paths and all(p.startswith(str(target.resolve())) and Path(p).read_text() == "the agent's own run\n" for p in paths)
    assert state(target) == before
    assert (target / "run.toml").read_text() == (family.run / "run.toml").read_text()


@pytest.mark.sqlite_only("export-run packs the archive.db file")
def test_import_refuses_what_it_should(family, tmp_path):
    exported = export_run(family.run, tmp_path / "run.tar.gz")
    with pytest.raises(RunFileError, match="already exists"):
        export_run(family.run, exported.path)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("mine")
    with pytest.raises(RunFileError, match="not empty"):
        import_run(exported.path, taken)
    assert (taken / "x").read_text() == "mine"
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name, data in (("manifest.json", json.dumps({"format": 1, "run_name": "x"}).encode()), ("../escape.txt", b"no")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(RunFileError, match="unexpected member"):
        import_run(evil, tmp_path / "evil-run")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "evil-run").exists()
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(RunFileError, match="cannot read"):
        import_run(tmp_path / "junk.tar.gz", tmp_path / "junk-run")


@pytest.mark.sqlite_only("export-run packs the archive.db file")
def test_the_cli_round_trip_and_one_line_errors(family, tmp_path):
    def dgm(*args):
        env = {**os.environ, "COLUMNS": "200"}
        env.pop("DGM_DEBUG", None)
        return subprocess.run([sys.executable, "-m", "dgm.cli", "archive", *args], capture_output=True, text=True, env=env, timeout=120)

    out = tmp_path / "r.tar.gz"
    assert dgm("export-run", str(family.run), str(out)).returncode == 0
    done = dgm("import-run", str(out), str(tmp_path / "copy"))
    assert done.returncode == 0 and "imported" in done.stdout
    assert "consistent" in dgm("verify", "--run", str(tmp_path / "copy")).stdout
    failed = dgm("import-run", str(tmp_path / "missing.tar.gz"))
    assert failed.returncode == 2 and failed.stderr.startswith("dgm: error: ") and len(failed.stderr.strip().splitlines()) == 1


def test_export_packs_sqlite_runs_and_refuses_postgresql_ones_in_one_line(family, tmp_path, database):
    """export-run packs SQLite runs; a run whose tables are in PostgreSQL is refused, saying how
    to move it instead, and nothing is written."""
    dest = tmp_path / "r.tar.gz"
    if database == "sqlite":
        export_run(family.run, dest)
        assert dest.is_file()
        return
    with pytest.raises(RunFileError, match="PostgreSQL.*pg_dump"):
        export_run(family.run, dest)
    assert not dest.exists()
