"""A run made by the previous dgm (schema 1, checked in under tests/fixtures) opens, migrates
in place, verifies clean and shows the same per-agent costs as the old code did."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from archive_family import snapshot
from test_archive_cli import assert_one_line_failure, dgm

from dgm.archive import Archive, Reader
from dgm.archive.schema import MAKING_STEPS, SCHEMA_VERSION
from tests.fixtures.old_run import unpack_old_run


def test_an_old_run_migrates_in_place_and_shows_the_same_costs(tmp_path):
    run, expected = unpack_old_run(tmp_path)
    assert expected["schema_version"] == 1 < SCHEMA_VERSION
    before = snapshot(run)
    assert_one_line_failure(dgm("archive", "ls", "--run", str(run)), "schema version 1", "dgm archive migrate")  # readers never write
    assert snapshot(run) == before

    migrate = dgm("archive", "migrate", "--run", str(run))
    assert migrate.returncode == 0 and f"schema version {SCHEMA_VERSION}" in migrate.stdout, migrate.stderr
    with Archive.open(run) as store:  # a second open applies nothing again
        assert store.schema_version() == SCHEMA_VERSION
        with closing(sqlite3.connect(run / "archive.db")) as db:
            assert [v for (v,) in db.execute("SELECT version FROM schema_migrations ORDER BY version")] == [1, SCHEMA_VERSION]
        agents = {a.id: a for a in store.agents()}
        calls = store.llm_calls()
        assert {c.step for c in calls} == {"diagnose", "self-modify", "smoke", "solve"}
        for call in calls:  # the old task ids, read back once by the migration
            kind, _, number = (call.task_id or "").partition("/")
            if kind in MAKING_STEPS:
                assert (call.step, call.iteration) == (kind, int(number)), call
            else:
                assert (call.step, call.iteration) == (call.purpose, agents[call.agent_id].iteration), call

    verify = dgm("archive", "verify", "--json", "--run", str(run))
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"], verify.stdout
    listing = dgm("archive", "ls", "--json", "--run", str(run))
    assert listing.returncode == 0, listing.stderr
    rows = {r["id"]: r for r in json.loads(listing.stdout)}
    assert rows.keys() == {r["id"] for r in expected["ls"]}
    for old in expected["ls"]:
        new = rows[old["id"]]
        assert new.pop("cost_usd") == pytest.approx(old.pop("cost_usd"), rel=1e-9, abs=1e-12)
        assert new == old
        show = dgm("archive", "show", old["id"], "--json", "--run", str(run))
        spend, old_spend = json.loads(show.stdout)["spend"], expected["spend"][old["id"]]
        assert spend.pop("usd") == pytest.approx(old_spend.pop("usd"), rel=1e-9, abs=1e-12)
        assert spend == old_spend
    with Reader.open(run) as reader:
        assert sum(reader.costs().values()) == pytest.approx(reader.spend().usd)  # every call charged to exactly one agent
