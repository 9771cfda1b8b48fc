"""A synthetic run, built through the archive's own API, for looking at reports and reviews
without spending on a model: `python benchmarks/make_report_demo.py` and the report tests.

The lineage follows the DGM's parent selection (sigmoid(10 (score - 0.5)) / (1 + children)),
children inherit their parent's score plus noise, a share of them is invalid, and a few carry
the tricks the review flags exist for (an edited test, an early exit), which the synthetic
reviewer tends to reject. Timestamps are the real ones of the build.
"""

from __future__ import annotations

import math
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dgm.config import RunConfig, dump_config

SEED_FILES = {
    "agent.py": "import sys\n\nfrom tools import run_shell, view_file\n\n\ndef main():\n    instruction = sys.argv[2]\n    return run_shell('true')\n\n\nif __name__ == '__main__':\n    main()\n",
    "tools.py": "import subprocess\n\n\ndef run_shell(cmd):\n    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout\n\n\ndef view_file(path):\n    with open(path) as f:\n        return f.read()\n",
    "prompts.py": "SYSTEM = 'You are a careful coding agent.'\n",
    "tests/test_tools.py": "from tools import run_shell\n\n\ndef test_shell():\n    assert run_shell('echo hi') == 'hi\\n'\n",
    "README.md": "# coder\n\nThe seed agent.\n",
}
TRICKS = (
    ("tests/test_tools.py", "from tools import run_shell\n\n\ndef test_shell():\n    assert True\n"),
    ("agent.py", None),  # an early exit appended to main
)


@dataclass(frozen=True)
class DemoStats:
    agents: int
    invalid: int
    reviews: int
    calls: int


def _write_run_dir(run_dir: Path, name: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.toml").write_text(dump_config(RunConfig(name=name)), encoding="utf-8")


def _mutate(files: dict[str, bytes], i: int, rng: random.Random) -> dict[str, bytes]:
    """A few-line change of the parent's code; now and then one of the flagged tricks."""
    files = dict(files)
    if rng.random() < 0.04:
        path, text = TRICKS[rng.randrange(len(TRICKS))]
        if text is None:
            text = files[path].decode() + "\nimport os\nos._exit(0)\n"
        files[path] = text.encode()
        return files
    target = rng.choice(["tools.py", "prompts.py", "agent.py"])
    files[target] = files[target] + f"\n\ndef helper_{i}(x):\n    return x + {i}\n".encode()
    if target == "prompts.py":
        files[target] = files[target].replace(b"careful", f"careful (v{i})".encode(), 1)
    return files


def build_demo_archive(run_dir: Path, n_agents: int, seed: int = 0, name: str = "demo", reviewer: bool = True) -> tuple[Any, DemoStats]:
    """Create a run at `run_dir` with `n_agents` agents (the seed included), evaluations,
    ledger rows and, with `reviewer`, a synthetic reviewer's verdicts. Returns the open
    archive and what was written."""
    from dgm.archive import Archive

    rng = random.Random(seed)
    _write_run_dir(run_dir, name)
    archive = Archive.create(run_dir)
    with tempfile.TemporaryDirectory() as tmp:
        for path, text in SEED_FILES.items():
            (Path(tmp) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / path).write_text(text)
        seed_agent = archive.add_seed(Path(tmp))
    code = {seed_agent.id: {p: t.encode() for p, t in SEED_FILES.items()}}
    score = {seed_agent.id: 0.25}
    children = {seed_agent.id: 0}
    _evaluate(archive, seed_agent.id, 0.25, rng)
    rejected: set[str] = set()
    invalid = reviews = calls = 0
    for i in range(1, n_agents):
        pool = [a for a in score if a not in rejected]
        weights = [1 / (1 + math.exp(-10 * (score[a] - 0.5))) / (1 + children[a]) for a in pool]
        parent = rng.choices(pool, weights)[0]
        children[parent] += 1
        files = _mutate(code[parent], i, rng)
        tricky = files.get("tests/test_tools.py") != code[parent].get("tests/test_tools.py") or b"os._exit" in files["agent.py"]
        meta = {
            "diagnosis": f"The parent fails tasks where the shell output is long (seen in {rng.randint(1, 5)} logs).",
            "problem_statement": f"Make the agent truncate long tool output and retry (iteration {i}).",
        }
        child = archive.add_child(parent, files, iteration=i, meta=meta)
        calls += _ledger(archive, parent, child.id, i, rng)
        if rng.random() < 0.3:
            archive.set_status(child.id, "invalid", rng.choice(["empty diff", "agent.py does not compile", "failed the smoke task"]))
            invalid += 1
            continue
        value = min(1.0, max(0.0, score[parent] + rng.gauss(0.012, 0.06)))
        _evaluate(archive, child.id, value, rng)
        code[child.id], score[child.id], children[child.id] = files, value, 0
        verdict = _review(rng, tricky) if reviewer else None
        if verdict:
            archive.add_review(child.id, verdict, note="demo reviewer" if verdict != "note" else "looks fine, check prompts")
            reviews += 1
            if verdict == "reject":
                rejected.add(child.id)
    return archive, DemoStats(n_agents, invalid, reviews, calls)


def _evaluate(archive: Any, agent_id: str, value: float, rng: random.Random) -> None:
    archive.set_status(agent_id, "evaluating")
    first = archive.start_evaluation(agent_id, "humaneval", 1, 10)
    passed = round(value * 10)
    archive.finish_evaluation(first, passed / 10, passed)
    final = passed / 10
    if final >= 0.4:
        second = archive.start_evaluation(agent_id, "humaneval", 2, 50)
        passed2 = round(value * 50)
        archive.finish_evaluation(second, passed2 / 50, passed2)
        final = (passed + passed2) / 60
    archive.set_score(agent_id, final)
    archive.set_status(agent_id, "evaluated")


def _ledger(archive: Any, parent_id: str, child_id: str, iteration: int, rng: random.Random) -> int:
    """The calls of one iteration as the loop records them: the making under the parent with
    the child's iteration, the evaluation under the child."""
    rows = [(parent_id, "diagnose", "diagnose", 3000, 600, 0.02), (parent_id, "self-modify", "self-modify", 20000, 3000, 0.12),
            (child_id, "solve", "solve", 40000, 5000, 0.2)]
    for agent_id, purpose, step, prompt, completion, usd in rows:
        archive.record_llm_call(
            agent_id=agent_id, task_id=None, purpose=purpose, model="demo/model", prompt_tokens=prompt,
            completion_tokens=completion, cost_usd=usd * rng.uniform(0.5, 1.5), latency=rng.uniform(1, 20), outcome="ok",
            iteration=iteration, step=step,
        )
    return len(rows)


def _review(rng: random.Random, tricky: bool) -> str | None:
    if tricky:
        return "reject" if rng.random() < 0.8 else None
    draw = rng.random()
    return "approve" if draw < 0.25 else "reject" if draw < 0.28 else "note" if draw < 0.33 else None
