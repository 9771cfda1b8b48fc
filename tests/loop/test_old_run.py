"""A run made by the previous dgm (tests/fixtures/run-schema1.*) resumes after the migration:
the next child is made and evaluated, recorded with its iteration and steps, and the costs of
the agents the old code made stay as the old code showed them."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.old_run import unpack_old_run
from tests.loop.conftest import dgm

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_an_old_run_resumes_after_the_migration(tmp_path):
    from dgm.archive import Reader

    run, expected = unpack_old_run(tmp_path)
    config = run / "run.toml"
    config.write_text(config.read_text().replace("max_iterations = 3", "max_iterations = 4"))  # room for one more child
    dgm("run", "--run", str(run), check=True)

    assert dgm("archive", "verify", "--run", str(run)).returncode == 0
    costs = {row["id"]: row["cost_usd"] for row in json.loads(dgm("archive", "ls", "--json", "--run", str(run), check=True).stdout)}
    old = {row["id"]: row["cost_usd"] for row in expected["ls"]}
    assert {k: costs[k] for k in old} == pytest.approx(old, rel=1e-9)
    with Reader.open(run) as reader:
        [child] = [a for a in reader.agents() if a.id not in old]
        assert child.iteration == 4 and child.parent_id in old
        making = [c for c in reader.llm_calls(agent_id=child.parent_id) if c.iteration == 4]
        assert {c.step for c in making} == {"diagnose", "self-modify", "smoke"}
        own = reader.llm_calls(agent_id=child.id)
        assert all((c.iteration, c.step) == (4, "solve") for c in own)
        assert costs[child.id] == pytest.approx(sum(c.cost_usd for c in making + own), rel=1e-9)
        assert costs[child.id] > sum(c.cost_usd for c in own)  # its making counts for it
