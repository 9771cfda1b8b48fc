import numpy as np
import pytest

from dgm.loop.selection import (
    Candidate,
    SelectionError,
    score_child_prop_weights,
    select_parent,
    selection_rng,
)


def draws(cands, method, n=400, seed=0):
    return [select_parent(cands, method, selection_rng(seed, i)).id for i in range(n)]


def test_score_child_prop_matches_the_dgm_formula():
    cands = [Candidate("a", 0.9, 0), Candidate("b", 0.5, 3)]
    weights = score_child_prop_weights(cands)
    expected_a = 1 / (1 + np.exp(-10 * 0.4)) / 1
    expected_b = 0.5 / 4
    assert weights == pytest.approx([expected_a, expected_b])


def test_children_lower_the_chance_of_being_picked():
    cands = [Candidate("a", 0.6, 0), Candidate("b", 0.6, 9)]
    picks = draws(cands, "score_child_prop")
    assert picks.count("a") > 3 * picks.count("b")


def test_best_always_picks_the_top_score():
    cands = [Candidate("a", 0.2, 0), Candidate("b", 0.7, 5), Candidate("c", 0.1, 0)]
    assert set(draws(cands, "best", n=50)) == {"b"}


def test_random_reaches_everyone_and_score_prop_prefers_high_scores():
    cands = [Candidate(x, s, 0) for x, s in (("a", 0.05), ("b", 0.95))]
    assert set(draws(cands, "random", n=100)) == {"a", "b"}
    picks = draws(cands, "score_prop")
    assert picks.count("b") > 5 * picks.count("a")


def test_novelty_prefers_the_unusual_agent_at_equal_score():
    same = "def solve(): return tool_loop(prompt, model)"
    cands = [
        Candidate("a", 0.5, 0, same),
        Candidate("b", 0.5, 0, same),
        Candidate("c", 0.5, 0, "class Planner: pass\ndef search_tree(node): expand(node)"),
    ]
    picks = draws(cands, "novelty")
    assert picks.count("c") > 1.5 * max(picks.count("a"), picks.count("b"))


def test_same_seed_and_iteration_give_the_same_choice_whatever_the_listing_order():
    cands = [Candidate(str(i), i / 10, i % 3) for i in range(10)]
    assert draws(cands, "score_child_prop", n=30) == draws(list(reversed(cands)), "score_child_prop", n=30)
    assert draws(cands, "score_child_prop", n=30, seed=1) != draws(cands, "score_child_prop", n=30, seed=0)


def test_no_candidate_is_an_error():
    with pytest.raises(SelectionError):
        select_parent([], "best", selection_rng(0, 1))


# -- distributions on a fixed archive ---------------------------------------------------------
# 2,000 seeded draws; the tolerances are many standard deviations wide (sd of a share at
# n=2000 is at most 0.011), and the seeds are fixed, so these cannot flake.

FIXED = [Candidate("a", 0.9, 0), Candidate("b", 0.5, 1), Candidate("c", 0.2, 3), Candidate("d", 0.0, 0)]


def shares(cands, method, n=2000, **kw):
    picks = [select_parent(cands, method, selection_rng(7, i), **kw).id for i in range(n)]
    return {c.id: picks.count(c.id) / n for c in cands}


def expected(weights):
    weights = np.asarray(weights, dtype=float)
    return weights / weights.sum()


@pytest.mark.parametrize("method", ["score_child_prop", "score_prop", "random", "best"])
def test_each_weighted_rule_draws_its_stated_distribution(method):
    from dgm.loop.selection import WEIGHTS

    want = expected(WEIGHTS[method](FIXED))
    got = shares(FIXED, method)
    for cand, p in zip(FIXED, want):
        assert got[cand.id] == pytest.approx(p, abs=0.05), (method, cand.id)


def test_hgm_parent_follows_the_clade_not_the_agents_own_score():
    # "low" scores 0.3 itself but its two children passed 18 of 20 tasks; "high" scores 0.8
    # and its three children passed 1 of 30 between them.
    nodes = [
        Candidate("root", 0.5, 2, passed=5, tasks=10),
        Candidate("low", 0.3, 2, parent_id="root", passed=3, tasks=10),
        Candidate("high", 0.8, 3, parent_id="root", passed=8, tasks=10),
        Candidate("low1", 0.9, 0, parent_id="low", passed=9, tasks=10),
        Candidate("low2", 0.9, 0, parent_id="low", passed=9, tasks=10),
        Candidate("high1", 0.0, 0, parent_id="high", passed=0, tasks=10),
        Candidate("high2", 0.1, 0, parent_id="high", passed=1, tasks=10),
        Candidate("high3", 0.0, 0, parent_id="high", passed=0, tasks=10),
    ]
    eligible = [n for n in nodes if n.id in ("low", "high")]
    got = shares(eligible, "hgm", nodes=nodes)
    assert got["low"] > 0.95  # Beta(22, 10) against Beta(10, 32): "high" almost never wins
    # without the clade, the agents' own counts would favour "high"
    alone = shares(eligible, "hgm")
    assert alone["high"] > 0.9
    # the ablation (clade off) reads own counts even with the whole tree at hand
    from dgm.loop.selection.hgm import HgmParams, decide

    picks = [decide(nodes, eligible, {}, 9, selection_rng(7, i), HgmParams(clade=False)).agent_id for i in range(400)]
    assert picks.count("high") > 0.9 * 400


def test_clade_counts_pool_the_whole_subtree():
    from dgm.loop.selection.hgm import clade_counts

    nodes = [Candidate("r", 0, 0, passed=1, tasks=2), Candidate("c", 0, 0, parent_id="r", passed=3, tasks=4),
             Candidate("g", 0, 0, parent_id="c", passed=5, tasks=6), Candidate("x", 0, 0, parent_id="r")]
    assert clade_counts(nodes) == {"r": (9, 12), "c": (8, 10), "g": (5, 6), "x": (0, 0)}


def test_hgm_expands_or_evaluates_by_the_papers_rule():
    from dgm.loop.selection.hgm import EVALUATE, EXPAND, HgmParams, decide, should_expand

    assert should_expand(0, 0, 0.6) and not should_expand(0, 1, 0.6)
    # 10 ** 0.6 = 3.98: three children is few enough to expand, four is not
    assert should_expand(10, 3, 0.6) and not should_expand(10, 4, 0.6)
    seed = Candidate("s", 0.5, 4, passed=5, tasks=10)
    kids = [Candidate(f"k{i}", 0.5, 0, parent_id="s", passed=0, tasks=0) for i in range(4)]
    nodes = [seed, *kids]
    left = {n.id: 50 for n in nodes}
    step = decide(nodes, [seed], left, children=4, rng=selection_rng(0, 1), params=HgmParams(alpha=0.6))
    assert step.action == EVALUATE and step.agent_id == "k0"  # never-measured agents go first
    step = decide(nodes, [seed], left, children=3, rng=selection_rng(0, 1))
    assert step == type(step)(EXPAND, "s")
    # nothing left to measure: expand whatever the ratio says
    step = decide(nodes, [seed], {}, children=4, rng=selection_rng(0, 1))
    assert step.action == EXPAND


def test_hgm_spends_extra_tasks_on_uncertain_promising_agents():
    from dgm.loop.selection.hgm import choose_to_evaluate

    open_agents = [Candidate("sure-bad", 0.0, 0, passed=0, tasks=60), Candidate("maybe", 0.5, 0, passed=1, tasks=2)]
    picks = [choose_to_evaluate(open_agents, selection_rng(3, i)).id for i in range(500)]
    assert picks.count("maybe") > 480


def test_hgm_cool_down_sharpens_the_posterior():
    from dgm.loop.selection.hgm import HgmParams, temperature

    params = HgmParams(cool_down=True, budget_tasks=100)
    assert temperature(params, 0) == 1.0 and temperature(params, 90) == pytest.approx(10.0)
    assert temperature(HgmParams(), 90) == 1.0


def test_hgm_draws_are_seeded():
    nodes = [Candidate(str(i), 0.5, 0, passed=i, tasks=10) for i in range(1, 9)]
    a = [select_parent(nodes, "hgm", selection_rng(1, i)).id for i in range(40)]
    assert a == [select_parent(list(reversed(nodes)), "hgm", selection_rng(1, i)).id for i in range(40)]
    assert a != [select_parent(nodes, "hgm", selection_rng(2, i)).id for i in range(40)]
