from pathlib import Path

import numpy as np
import pytest

from dgm.loop.landscape import Landscape, SimConfig, simulate
from tests.loop.conftest import dgm


def test_the_landscape_has_climbing_decaying_and_detour_lineages():
    land, rng = Landscape(), np.random.default_rng(0)
    drifts = [land.child(0.5, 0.0, rng)[1] for _ in range(4000)]
    share = {d: drifts.count(d) / len(drifts) for d in (land.good_drift, land.detour_drift, -land.bad_drift, 0.0)}
    assert abs(share[land.good_drift] - land.p_good_lineage) < 0.03
    assert abs(share[land.detour_drift] - land.p_detour) < 0.03
    assert abs(share[-land.bad_drift] - land.p_bad_lineage) < 0.03
    # a detour child starts below its parent on average
    skills = [land.child(0.5, 0.0, np.random.default_rng(i)) for i in range(2000)]
    detours = [s for s, d in skills if d == land.detour_drift]
    assert np.mean(detours) < 0.5


def test_simulation_is_seeded():
    for rule in ("hgm", "score_child_prop"):
        a = simulate(SimConfig(rule, budget_tasks=300), seed=3)
        b = simulate(SimConfig(rule, budget_tasks=300), seed=3)
        assert a == b
        assert a.agents > 1 and 0.0 <= a.best_skill <= 1.0


@pytest.mark.docker
@pytest.mark.slow
def test_landscape_dry_run_gives_agents_skills_that_decide_their_tasks(make_run):
    from dgm.archive import Archive
    from dgm.llm.dryrun import landscape_passes, landscape_state
    from dgm.evals import get_suite

    suite = str(Path(__file__).resolve().parents[2] / "evals" / "examples" / "landscape")
    run_dir = make_run(scenario="landscape", iterations=3, suites=f'["custom:{suite}"]', stages="[{ tasks = 6 }]")
    dgm("run", "--run", str(run_dir), check=True)
    instructions = {t.id: t.instruction for t in get_suite(f"custom:{suite}").tasks()}
    with Archive.open(run_dir, readonly=True) as store:
        agents = store.agents()
        skills = {}
        for agent in agents:
            prompts = store.read_tree(agent.id)["prompts.py"].decode()
            skills[agent.id] = landscape_state(prompts)
            results = [r for e in store.evaluations(agent.id) for r in store.task_results(e.id)]
            assert len(results) == 6
            for r in results:  # every verdict is the landscape's draw for this agent's skill
                assert r.passed == landscape_passes(prompts, instructions[r.task_id]), (agent.id, r.task_id)
    assert skills[agents[0].id] == (0.25, 0.0)  # the seed
    assert len({skills[a.id] for a in agents}) == len(agents), "each child draws its own skill"
