import numpy as np

from dgm.loop.landscape import Landscape, SimConfig, simulate


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
