"""A dry run with the archive in PostgreSQL, end to end through the real CLI: `dgm init --db`,
`dgm run`, the browsing commands reading while the daemon writes, and `dgm archive verify`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.loop.conftest import CANARY, dgm, write_config

READERS = (
    ("archive", "ls"),
    ("archive", "tree"),
    ("archive", "show", "a1"),
    ("status", "--json"),
    ("review", "ls"),
)


@pytest.mark.docker
@pytest.mark.slow
def test_a_dry_run_on_postgresql_while_the_cli_reads(tmp_path, pg_url):
    config = write_config(tmp_path / "pg.toml", iterations=2)
    run_dir = tmp_path / "pg"
    dgm("init", str(run_dir), "--config", str(config), "--db", pg_url, check=True)
    assert f'url = "{pg_url}"' in (run_dir / "run.toml").read_text()
    assert not (run_dir / "archive.db").exists(), "the tables are in PostgreSQL"
    assert (run_dir / "agents.git" / "HEAD").is_file(), "git stays in the run folder"

    env = {**os.environ, "OPENAI_API_KEY": CANARY}
    daemon = subprocess.Popen([sys.executable, "-m", "dgm.cli", "run", "--run", str(run_dir), "--iterations", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reads = 0
    try:
        while daemon.poll() is None:
            for args in READERS:  # each read while the daemon writes must succeed
                result = dgm(*args, "--run", str(run_dir))
                assert result.returncode == 0, f"dgm {' '.join(args)}: {result.stderr}"
                reads += 1
            time.sleep(0.2)
    finally:
        out, err = daemon.communicate(timeout=600)
    assert daemon.returncode == 0, err
    assert reads >= len(READERS), "the CLI read at least once during the run"

    from dgm.archive import Archive

    with Archive.open(run_dir, readonly=True) as store:
        agents = store.agents()
        assert sorted(a.iteration for a in agents) == [0, 1, 2]
        assert all(a.status in ("evaluated", "invalid") for a in agents)
        assert [j.state for j in store.jobs()] == ["done"] * 3
        assert store.llm_calls(), "the ledger is in PostgreSQL too"
    verify = dgm("archive", "verify", "--run", str(run_dir), "--json", check=True)
    report = json.loads(verify.stdout)
    assert report["ok"] and report["issues"] == [] and report["agents"] == 3
    assert report["skipped"] and "quick_check" in report["skipped"][0]
    assert not (run_dir / "archive.db").exists()
