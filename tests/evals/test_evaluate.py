"""evaluate(): agents in sandboxes, hostile agents, staged plans, reuse, the archive."""

from pathlib import Path

import pytest

from tests.evals.conftest import oracle_answers
from dgm.evals import Stage, StagePlan, evaluate, get_suite
from dgm.evals.reuse import DiskCache
from dgm.sandbox import Limits

pytestmark = pytest.mark.docker
EXAMPLES = Path(__file__).parents[2] / "evals" / "examples" / "exercises"
FAST = Limits(wall_seconds=60, exec_timeout=8)


def fix_oracle(tasks) -> str:
    """The oracle for humaneval-fix tasks: buggy module.py -> canonical module.py."""
    return oracle_answers(
        (t.workspace["module.py"], {"module.py": t.hidden.problem.prompt + t.hidden.problem.canonical_solution})
        for t in tasks
    )


def test_oracle_passes_and_hostile_agents_get_no_credit(backend, make_agent, tmp_path):
    suite = get_suite("humaneval-fix")
    plan = StagePlan((Stage(2),), seed=3)
    oracle = make_agent("oracle", "oracle.py", {"answers.json": fix_oracle(suite.tasks())})
    report = evaluate(oracle, [suite], plan, backend, limits=FAST, progress=False, cache=DiskCache(tmp_path / "c"))
    assert [r.passed for r in report.results] == [True, True] and report.score == 1.0
    for mode in ("hang", "flood", "huge", "crash", "tests", "fake-result", "exit"):
        agent = make_agent(mode, "hostile.py", {"mode.txt": mode})
        report = evaluate(agent, [suite], plan, backend, limits=FAST, progress=False, cache=DiskCache(tmp_path / "c"))
        assert [r.passed for r in report.results] == [False, False], mode
        if mode == "hang":
            assert {r.exit_reason for r in report.results} == {"timeout"}
        if mode == "huge":
            assert {r.exit_reason for r in report.results} <= {"bad-output", "exit"}


def test_custom_suite_restores_protected_tests(backend, make_agent, tmp_path):
    suite = get_suite(f"custom:{EXAMPLES}")
    leap = "def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n"
    words = (
        "import re\n\ndef count_words(text):\n    out = {}\n"
        "    for w in re.findall(r\"[a-z0-9]+(?:'[a-z0-9]+)*\", text.lower()):\n        out[w] = out.get(w, 0) + 1\n    return out\n"
    )
    by_name = {t.id.rsplit("/", 1)[1]: t for t in suite.tasks()}
    answers = oracle_answers([(by_name["leap"].workspace["leap.py"], {"leap.py": leap}),
                              (by_name["word-count"].workspace["words.py"], {"words.py": words})])
    plan = StagePlan((Stage(5),))
    good = evaluate(make_agent("oracle", "oracle.py", {"answers.json": answers}), [suite], plan, backend,
                    limits=FAST, progress=False, cache=DiskCache(tmp_path / "c"))
    assert good.score == 1.0
    cheat = evaluate(make_agent("cheat", "hostile.py", {"mode.txt": "tests"}), [suite], plan, backend,
                     limits=FAST, progress=False, cache=DiskCache(tmp_path / "c"))
    assert cheat.score == 0.0


class CountingBackend:
    """The real backend, counting sessions (to prove a reuse starts none)."""

    def __init__(self, inner):
        self.inner, self.name, self.starts = inner, inner.name, 0

    def start(self, *args, **kwargs):
        self.starts += 1
        return self.inner.start(*args, **kwargs)


def test_staged_plan_stops_early_and_identical_tree_is_reused(backend, make_agent, tmp_path):
    plan = StagePlan((Stage(2, 0.5), Stage(3)), seed=1)
    noop = make_agent("noop", "hostile.py", {"mode.txt": "crash"})
    counting = CountingBackend(backend)
    cache = DiskCache(tmp_path / "cache")
    first = evaluate(noop, ["humaneval"], plan, counting, limits=FAST, progress=False, cache=cache)
    assert len(first.results) == 2 and first.stopped_early == {"humaneval": 0} and not first.reused
    assert counting.starts == 3  # two agent runs, one grading session
    copy = make_agent("copy", "hostile.py", {"mode.txt": "crash"})  # same tree, other folder
    second = evaluate(copy, ["humaneval"], plan, counting, limits=FAST, progress=False, cache=cache)
    assert second.reused and counting.starts == 3
    assert [r.task_id for r in second.results] == [r.task_id for r in first.results]


def test_results_go_to_the_archive_and_are_reused_from_it(backend, make_agent, tmp_path):
    from dgm.archive import Archive

    agent = make_agent("noop", "hostile.py", {"mode.txt": "crash"})
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.toml").write_text('name = "test"\n')
    archive = Archive.create(tmp_path / "run")
    a = archive.add_seed(agent)
    plan = StagePlan((Stage(2),), seed=5)
    report = evaluate(agent, ["humaneval"], plan, backend, archive=archive, agent_id=a.id, limits=FAST, progress=False)
    (evaluation,) = archive.evaluations(a.id)
    rows = archive.task_results(evaluation.id)
    assert [r.task_id for r in rows] == [r.task_id for r in report.results] and evaluation.n_passed == 0
    assert all(Path(r.log_path).is_file() for r in rows)
    counting = CountingBackend(backend)
    again = evaluate(agent, ["humaneval"], plan, counting, archive=archive, agent_id=a.id, limits=FAST, progress=False)
    assert again.reused and counting.starts == 0
    assert archive.evaluations(a.id)[-1].reused_from == evaluation.id
