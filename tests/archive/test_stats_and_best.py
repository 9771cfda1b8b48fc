import pytest

from dgm.archive.best import Ranked, best_of, full_depth
from dgm.archive.stats import score_stat, wilson_interval


def test_wilson_matches_known_values():
    # textbook values (Newcombe 1998, table I): 81/263 -> 0.2553 .. 0.3662; 15/148 -> 0.0624 .. 0.1605
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-4)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-4)


def test_wilson_stays_honest_at_the_edges():
    low, high = wilson_interval(3, 3)
    assert high == 1.0 and low == pytest.approx(0.4385, abs=5e-4)  # 3/3 is far from certain
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=5e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    wide, narrow = wilson_interval(6, 10), wilson_interval(60, 100)
    assert wide.high - wide.low > narrow.high - narrow.low


def test_wilson_refuses_impossible_counts():
    for passed, tasks in ((4, 3), (-1, 3), (0, -1)):
        with pytest.raises(ValueError):
            wilson_interval(passed, tasks)


def test_score_stat_text_and_json():
    stat = score_stat(0.6, 30, 50)
    assert stat.text() == "0.600 [0.46, 0.72] n=50"
    assert stat.as_dict() == {"score": 0.6, "passed": 30, "tasks": 50, "ci95": [stat.low, stat.high]}
    assert score_stat(None, 0, 0).text() == "-"
    assert score_stat(0.5, 0, 0).as_dict()["ci95"] is None


def test_a_perfect_score_on_three_tasks_does_not_beat_point_six_on_fifty():
    rows = [Ranked("lucky", 1.0, 3, 1), Ranked("solid", 0.6, 50, 2), Ranked("seed", 0.5, 50, 0)]
    assert best_of(rows).id == "solid"
    assert best_of(rows, full_tasks=60).id == "solid"  # nobody reached 60: the deepest tier competes


def test_best_ties_go_to_more_tasks_then_the_earliest():
    assert best_of([Ranked("a", 0.5, 50, 3), Ranked("b", 0.5, 80, 4)], full_tasks=50).id == "b"
    assert best_of([Ranked("a", 0.5, 50, 3), Ranked("b", 0.5, 50, 1)]).id == "b"
    assert best_of([]) is None
    assert full_depth([Ranked("a", 0.5, 80, 0)], full_tasks=50) == 50
    # a run still in its first stage: the best of what there is
    assert best_of([Ranked("a", 0.3, 10, 0), Ranked("b", 0.7, 10, 1)]).id == "b"


def test_archive_best_prefers_the_agent_evaluated_on_more_tasks(tmp_path):
    from archive_family import make_run, write_seed

    from dgm.archive import Archive

    with Archive.create(make_run(tmp_path / "run")) as store:
        seed = store.add_seed(write_seed(tmp_path / "seed"))
        files = store.read_tree(seed.id)
        lucky = store.add_child(seed.id, {**files, "x.py": b"X = 1\n"}, iteration=1)
        for agent, passed, tasks in ((seed.id, 30, 50), (lucky.id, 3, 3)):
            evaluation = store.start_evaluation(agent, "humaneval", 0, tasks)
            for i in range(tasks):
                store.add_task_result(evaluation, f"HumanEval/{i}", i < passed, 1.0, "ok")
            store.finish_evaluation(evaluation, passed / tasks, passed)
            store.set_score(agent, passed / tasks)
            store.set_status(agent, "evaluated")
        assert store.best().id == seed.id
        assert store.task_counts()[lucky.id] == (3, 3)
        assert store.score_stat(store.get(seed.id)).text() == "0.600 [0.46, 0.72] n=50"
