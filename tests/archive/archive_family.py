"""Helpers for the archive tests: a small real family of agents in a real run folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from dgm.archive import Archive

SEED = {
    "agent.py": b"import sys\n\ndef main():\n    print('hello')\n\nif __name__ == '__main__':\n    main()\n",
    "tools/edit.py": b"#!/usr/bin/env python3\ndef edit(path, old, new):\n    return path\n",
    "README.md": b"# seed agent\n",
}


@dataclass(frozen=True)
class Family:
    run: Path
    seed: str
    child: str
    sibling: str
    grandchild: str


def make_run(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "run.toml").write_text('name = "test"\n')
    return path


def write_seed(path: Path) -> Path:
    for name, data in SEED.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    (path / "tools/edit.py").chmod(0o755)
    (path / "__pycache__").mkdir()
    (path / "__pycache__/agent.cpython-311.pyc").write_bytes(b"\0junk")
    return path


def build_family(root: Path) -> Family:
    """a1 (seed) -> a2 (edits agent.py, 0.6) -> a4 (deletes README, 0.8: best);
    a1 -> a3 (adds tools/new.py, invalid)."""
    run = make_run(root / "run")
    with Archive.create(run) as store:
        seed = store.add_seed(write_seed(root / "seed"), meta={"seed_agent": "test"})
        files = store.read_tree(seed.id)
        child = store.add_child(seed.id, {**files, "agent.py": files["agent.py"].replace(b"hello", b"hello, world")}, iteration=1,
                                meta={"problem_statement": "greet the world", "log_summary": "too terse"})
        sibling = store.add_child(seed.id, {**files, "tools/new.py": b"X = 1\n"}, iteration=2, status="invalid",
                                  status_reason="failed the smoke task")
        grand_files = store.read_tree(child.id)
        del grand_files["README.md"]
        grandchild = store.add_child(child.id, grand_files, iteration=3)
        for agent, score in ((seed.id, 0.4), (child.id, 0.6), (grandchild.id, 0.8)):
            evaluation = store.start_evaluation(agent, "humaneval", 0, 10)
            store.add_task_result(evaluation, "HumanEval/0", score > 0.5, 1.5, "ok")
            store.finish_evaluation(evaluation, score, int(score * 10))
            store.set_score(agent, score)
            store.set_status(agent, "evaluated")
        store.record_llm_call(agent_id=child.id, task_id=None, purpose="self-modify", model="scripted", prompt_tokens=100,
                              completion_tokens=50, cost_usd=0.25, latency=0.5, outcome="ok")
        store.add_review(child.id, "approve", "clean change")
    return Family(run, seed.id, child.id, sibling.id, grandchild.id)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under a folder with its content hash: 'nothing modified' means equal."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }
