"""The store with real SQLite and real git: lineage, trees, diffs, records, jobs, ledger."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect

from dgm.archive import (
    Archive,
    InvalidTreeError,
    NotARunError,
    PatchApplyError,
    ReadOnlyArchiveError,
    Reader,
    UnknownAgentError,
)
from dgm.archive import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from dgm.archive.schema import SCHEMA_VERSION
from sqlmodel import SQLModel

from archive_family import SEED, make_run, snapshot, write_seed


def git(run: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(run / "agents.git"), *args], check=True, capture_output=True, text=True).stdout


def test_lineage_is_git_history(family):
    with Archive.open(family.run) as store:
        agents = {a.id: a for a in store.agents()}
        assert [a.id for a in store.agents()] == ["a1", "a2", "a3", "a4"]
        assert agents["a4"].parent_id == "a2" and agents["a2"].parent_id == "a1" and agents["a1"].parent_id is None
        assert [a.id for a in store.lineage("a4")] == ["a1", "a2", "a4"]
        assert store.children_counts() == {"a1": 2, "a2": 1}
        assert store.best().id == "a4"
        assert [a.id for a in store.agents(status="invalid")] == ["a3"]
    # git agrees: refs/agents/<id>, and each commit's parent is the parent agent's commit
    assert git(family.run, "rev-parse", "refs/agents/a4^").strip() == agents["a2"].commit
    assert git(family.run, "rev-parse", "refs/agents/a2^").strip() == agents["a1"].commit
    assert git(family.run, "rev-list", "--count", "refs/agents/a4").strip() == "3"
    assert git(family.run, "rev-parse", "refs/agents/a4^{tree}").strip() == agents["a4"].tree_hash


def test_summaries_sort_filter_and_limit_in_sql(family):
    with Reader.open(family.run) as reader:
        def ids(**kw):
            return [row.agent.id for row in reader.summaries(**kw)]

        assert ids() == ["a4", "a3", "a2", "a1"]
        assert ids(sort="score") == ["a4", "a2", "a1", "a3"]  # unscored last
        assert ids(sort="children") == ["a1", "a2", "a3", "a4"]
        assert ids(sort="cost", limit=1) == ["a2"]
        assert ids(status="evaluated", sort="iteration") == ["a4", "a2", "a1"]
        row = reader.summaries(sort="cost", limit=1)[0]
        assert (row.children, row.cost_usd) == (1, 0.25)
        assert reader.count_agents() == 4 and reader.count_agents("invalid") == 1
        with pytest.raises(ValueError):
            reader.summaries(sort="name")


def test_trees_diffs_and_changed_files(family, tmp_path):
    with Reader.open(family.run) as reader:
        seed_tree = reader.read_tree("a1")
        assert seed_tree == SEED  # caches skipped
        assert "hello, world" in reader.read_tree("a2")["agent.py"].decode()
        diff = reader.diff("a2")
        assert "-    print('hello')" in diff and "+    print('hello, world')" in diff and "README" not in diff
        assert "new file mode 100644" in reader.diff("a1") and "+# seed agent" in reader.diff("a1")  # seed: all added
        assert "deleted file mode" in reader.diff("a4") and "-# seed agent" in reader.diff("a4")
        assert "tools/new.py" in reader.diff("a2", "a3") and "hello, world" in reader.diff("a2", "a3")
        changes = {c.path: c for c in reader.changed_files("a4", None)}
        assert changes["README.md"].change == "deleted" and changes["README.md"].deleted == 1
        assert {c.path: (c.change, c.added, c.deleted) for c in reader.changed_files("a2")} == {"agent.py": ("modified", 1, 1)}
        assert reader.tree_hash("a1") != reader.tree_hash("a2")
        reader.export("a4", tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["agent.py", "tools/edit.py"]
    assert (out / "tools/edit.py").stat().st_mode & 0o111  # executable bit kept through children


def test_identical_trees_share_a_hash_and_reuse_results(family):
    with Archive.open(family.run) as store:
        same = store.add_child("a2", store.read_tree("a2"), iteration=4)
        assert same.tree_hash == store.tree_hash("a2") and same.commit != store.get("a2").commit
        key = "n2-0123456789abcdef"  # the archive stores whatever key evals computes
        original = store.start_evaluation("a2", "humaneval", 1, 2, task_key=key)
        assert store.find_evaluation_by_tree(same.tree_hash, "humaneval", key) is None  # not finished yet
        store.finish_evaluation(original, 0.5, 1)
        found = store.find_evaluation_by_tree(same.tree_hash, "humaneval", key)
        assert found is not None and found.id == original and found.score == 0.5
        reused = store.start_evaluation(same.id, "humaneval", 1, 2, reused_from=found.id, task_key=key)
        store.finish_evaluation(reused, 0.5, 1)
        assert store.find_evaluation_by_tree(same.tree_hash, "humaneval", key).id == original  # originals first
        assert store.find_evaluation_by_tree(same.tree_hash, "reasoning", key) is None


def test_child_from_patch(family):
    with Archive.open(family.run) as store:
        patch = store.diff("a2")  # parent -> a2, applied again on a3's parent: the same change
        again = store.add_child_from_patch("a1", patch, iteration=5, meta={"via": "patch"})
        assert again.tree_hash == store.tree_hash("a2") and again.parent_id == "a1" and again.meta == {"via": "patch"}
        with pytest.raises(PatchApplyError):
            store.add_child_from_patch("a4", "--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-nope\n+yes\n", iteration=6)
        assert [a.id for a in store.agents()][-1] == again.id  # the failed patch added nothing


def test_bad_trees_and_ids_change_nothing(family, tmp_path):
    before = snapshot(family.run)
    with Archive.open(family.run) as store:
        for bad in ("../escape.py", "/abs.py", "a/../b.py", ".git/config", "x//y.py", ""):
            with pytest.raises(InvalidTreeError):
                store.add_child("a1", {"agent.py": b"", bad: b"x"}, iteration=9)
        with pytest.raises(UnknownAgentError, match="a99"):
            store.add_child("a99", {"agent.py": b""}, iteration=9)
        with pytest.raises(UnknownAgentError):
            store.get("a99")
        with pytest.raises(UnknownAgentError):
            store.logs_dir("../../etc")
        linked = write_seed(tmp_path / "linked")
        (linked / "link.py").symlink_to("/etc/passwd")
        with pytest.raises(InvalidTreeError):
            store.add_seed(linked)
        assert len(store.agents()) == 4
    after = snapshot(family.run)
    assert {k: v for k, v in after.items() if "archive.db" not in k} == {k: v for k, v in before.items() if "archive.db" not in k}


def test_records_jobs_state_events_reviews(family):
    with Archive.open(family.run) as store:
        store.update_meta("a3", diagnosis="x", problem_statement="y")
        store.update_meta("a3", diagnosis="z")
        assert store.get("a3").meta == {"diagnosis": "z", "problem_statement": "y"}
        first = store.enqueue_job("child", {"iteration": 7, "parent": "a2"}, agent_id="a2")
        second = store.enqueue_job("eval", {"agent": "a4"})
        assert store.claim_job(["nothing"]) is None
        job = store.claim_job(["child"])
        assert (job.id, job.state, job.attempts, job.payload["parent"]) == (first, "running", 1, "a2")
        assert store.requeue_running() == 1
        assert store.claim_job().id == first and store.claim_job().id == second and store.claim_job() is None
        store.finish_job(first, ok=True)
        store.finish_job(second, ok=False, error="boom")
        assert [(j.state, j.attempts, j.error) for j in store.jobs()] == [("done", 2, None), ("failed", 1, "boom")]
        assert [j.id for j in store.jobs(state="failed")] == [second]
        store.set_state("rng", {"state": [1, 2, 3]})
        store.set_state("rng", {"state": [4]})
        assert store.get_state("rng") == {"state": [4]} and store.get_state("missing", 5) == 5
        for i in range(5):
            store.log_event("tick", f"event {i}", data={"i": i})
        latest = store.events(limit=2)
        assert [e.message for e in latest] == ["event 3", "event 4"] and latest[0].data == {"i": 3}
        after = store.events(limit=2, since_id=latest[0].id - 3)
        assert [e.message for e in after] == ["event 1", "event 2"]
        store.add_review("a4", "reject", "touches tests")
        assert [(r.agent_id, r.verdict) for r in store.reviews()] == [("a2", "approve"), ("a4", "reject")]
        assert [r.note for r in store.reviews("a4")] == ["touches tests"]
        evaluations = store.evaluations("a4")
        assert len(evaluations) == 1 and evaluations[0].score == 0.8
        assert [(t.task_id, t.passed) for t in store.task_results(evaluations[0].id)] == [("HumanEval/0", True)]
        with pytest.raises(ValueError):
            store.set_status("a1", "great")
    with Archive.open(family.run, readonly=True) as reader:
        assert reader.get_state("rng") == {"state": [4]}
        with pytest.raises(ReadOnlyArchiveError):
            reader.log_event("x", "y")


def test_ledger_is_thread_safe(family):
    with Archive.open(family.run) as store:
        def worker(n: int) -> None:
            for i in range(20):
                store.record_llm_call(agent_id="a4", task_id=f"t{n}", purpose="solve", model="m", prompt_tokens=10,
                                      completion_tokens=5, cost_usd=0.01, latency=0.1, outcome="ok")
                store.spend(agent_id="a4")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        spend = store.spend(agent_id="a4")
        assert spend.calls == 80 and spend.prompt_tokens == 800 and abs(spend.usd - 0.8) < 1e-9
        assert store.spend(task_id="t1").calls == 20 and store.spend("a4", "t1").calls == 20
        assert store.spend().calls == 81 and abs(store.spend().usd - 1.05) < 1e-9


def test_threads_adding_children_get_distinct_sequential_ids(family):
    with Archive.open(family.run) as store:
        tree = store.read_tree("a4")
        made: list[str] = []

        def worker(n: int) -> None:
            for i in range(5):
                made.append(store.add_child("a4", {**tree, "n.txt": f"{n}-{i}".encode()}, iteration=10 + n).id)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(made, key=lambda i: int(i[1:])) == [f"a{i}" for i in range(5, 20)]
        assert store.verify().ok


def test_models_match_migrations_and_versions_are_recorded(tmp_path):
    run = make_run(tmp_path / "run")
    Archive.create(run).close()
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{run / 'archive.db'}")
    actual = {t: {c["name"] for c in inspect(engine).get_columns(t)} for t in inspect(engine).get_table_names() if t != "sqlite_sequence"}
    declared = {t.name: {c.name for c in t.columns} for t in SQLModel.metadata.sorted_tables if t.name in actual}
    assert declared == actual
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT max(version) FROM schema_migrations").scalar() == SCHEMA_VERSION
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    with pytest.raises(Exception, match="already"):
        Archive.create(run)


def test_create_needs_a_run_and_open_creates_nothing(tmp_path):
    with pytest.raises(NotARunError):
        Archive.create(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotARunError):
        Archive.create(empty)
    make_run(tmp_path / "bare")
    with pytest.raises(NotARunError, match="archive.db"):
        Archive.open(tmp_path / "bare", readonly=True)
    assert sorted(p.name for p in (tmp_path / "bare").iterdir()) == ["run.toml"]


def test_making_a_child_is_the_childs_cost_not_the_parents(family):
    """The loop records a child's diagnosis, self-modification and smoke calls under the parent
    (the child does not exist yet) with the child's iteration and the step; per-agent costs
    count them for the child of that iteration, and never for the parent."""
    from dgm.archive import Archive

    with Archive.open(family.run) as store:
        base = store.costs()
        call = dict(model="m", prompt_tokens=10, completion_tokens=5, latency=0.1, outcome="ok")
        store.record_llm_call(agent_id=family.seed, task_id="humaneval/HumanEval/0", purpose="solve", cost_usd=1.0, iteration=0, **call)
        assert store.making_cost(family.seed, 2).calls == 0
        for step, purpose in (("diagnose", "diagnose"), ("self-modify", "self-modify"), ("smoke", "solve")):  # the making of a3
            store.record_llm_call(agent_id=family.seed, task_id=f"label {step}", purpose=purpose, cost_usd=0.5, iteration=2, step=step, **call)
        store.record_llm_call(agent_id=family.seed, task_id="x", purpose="solve", cost_usd=7.0, iteration=2, **call)  # not a making step
        assert store.making_cost(family.seed, 2).usd == 1.5 and store.making_cost(family.seed, 1).calls == 0
        costs = store.costs()
        assert costs[family.seed] == base.get(family.seed, 0.0) + 1.0
        assert costs[family.sibling] == base.get(family.sibling, 0.0) + 1.5
        assert costs[family.child] == base[family.child]  # iteration 1: none of these
        sibling = store.child_cost(family.sibling)
        assert sibling.usd == costs[family.sibling] and sibling.calls == 3 and sibling.tokens == 45
        assert store.child_cost("b7").calls == 0  # no agent, no calls
        by_ls = {s.agent.id: s.cost_usd for s in store.summaries()}
        assert by_ls == costs
    with Reader.open(family.run) as reader:
        assert reader.costs() == costs and reader.child_cost(family.sibling) == sibling
        rows = [(r.agent_id, r.iteration, r.step) for r in reader.llm_calls(agent_id=family.seed)]
        assert rows == [("a1", 0, "solve"), ("a1", 2, "diagnose"), ("a1", 2, "self-modify"), ("a1", 2, "smoke"), ("a1", 2, "solve")]


def test_a_ledger_step_must_be_known(family):
    with Archive.open(family.run) as store, pytest.raises(ValueError, match="step must be one of"):
        store.record_llm_call(agent_id="a1", task_id=None, purpose="solve", model="m", prompt_tokens=1, completion_tokens=1,
                              cost_usd=0.0, latency=0.0, outcome="ok", step="evaluate")
