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
