"""Archive speed.

1. Start-up: `dgm --help` against `python -c "import sqlite3"` (goal: within 3x).
2. Imports: `dgm --help` and `dgm archive ls` must not import litellm, docker or scikit-learn
   (also reported: whether the browse path avoided sqlmodel/SQLAlchemy and GitPython).
3. A synthetic archive of N agents (default 10,000): a ~20-file seed, children chosen with a
   DGM-like rule (good, little-explored parents), each changing a few lines, each valid child
   evaluated on T tasks (default 60: a stage of 10, then the rest). Reports the time per agent
   added, `dgm archive ls|tree|show|best` and `dgm status` wall times as subprocess CLI calls
   (goal: each under 0.5 s), task counts read from their columns against counting the task
   results (the old way, a ratio), and database and git sizes per agent (loose, then packed).

    python benchmarks/bench_archive.py [--agents N] [--tasks T] [--keep DIR]

Everything is built in a temporary folder and removed (unless --keep); nothing is cached.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from dgm.archive import Archive

BIN = Path(sys.executable).parent
DGM = str(BIN / "dgm") if (BIN / "dgm").exists() else "dgm"
FORBIDDEN = ("litellm", "docker", "sklearn")
HEAVY = ("sqlmodel", "sqlalchemy", "git")
GOAL_CLI = 0.5
ROUNDS = 5


def median_call(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    """Median seconds of `rounds` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_wall(cmd: list[str], rounds: int = ROUNDS) -> float:
    return median_call(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), rounds)


def modules_loaded(args: list[str]) -> set[str]:
    """Top-level packages imported by `dgm ARGS` (run in-process, listed at exit)."""
    probe = (
        "import sys, json\n"
        "from dgm.cli import main\n"
        f"code = main({args!r})\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})) + '\\n')\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    line = [l for l in proc.stderr.splitlines() if l.startswith("MODULES ")]
    if not line:
        raise SystemExit(f"probe failed: {proc.stderr[-500:]}")
    return set(json.loads(line[-1][len("MODULES "):]))


def seed_files(rng: random.Random) -> dict[str, bytes]:
    """A ~20-file agent of 40-120 lines per file."""
    names = ["agent.py", "README.md"] + [f"tools/tool_{i}.py" for i in range(10)] + [f"lib/util_{i}.py" for i in range(8)]
    files = {}
    for name in names:
        lines = [f"def f_{name.replace('/', '_').replace('.', '_')}_{i}(x):\n    return x * {rng.randint(1, 99)} + {i}\n" for i in range(rng.randint(20, 60))]
        files[name] = "".join(lines).encode()
    return files


def mutate(files: dict[str, bytes], rng: random.Random) -> dict[str, bytes]:
    """A child: a few lines changed in one or two files, sometimes a line added."""
    child = dict(files)
    for name in rng.sample(sorted(files), rng.choice((1, 1, 2))):
        lines = child[name].split(b"\n")
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(lines))
            lines[i] = lines[i] + f"  # tweak {rng.randint(0, 10**6)}".encode() if lines[i].strip() else b"# added"
        if rng.random() < 0.3:
            lines.insert(rng.randrange(len(lines)), f"    # note {rng.random():.6f}".encode())
        child[name] = b"\n".join(lines)
    return child


def evaluate(store: "Archive", agent: str, score: float, tasks: int, rng: random.Random) -> None:
    """Record the agent's evaluation as evals does: stages of 10 tasks then the rest, each
    task passed with probability `score` (no task rows when `tasks` is 0)."""
    from dgm.archive import NewTaskResult

    if not tasks:
        evaluation = store.start_evaluation(agent, "humaneval", 0, 10)
        store.finish_evaluation(evaluation, score, round(score * 10))
        return
    for stage, ids in enumerate((range(min(tasks, 10)), range(10, tasks))):
        if not ids:
            continue
        evaluation = store.start_evaluation(agent, "humaneval", stage, len(ids))
        verdicts = [NewTaskResult(f"HumanEval/{i}", rng.random() < score, 1.0, "ok") for i in ids]
        store.add_task_results(evaluation, verdicts)
        passed = sum(v.passed for v in verdicts)
        store.finish_evaluation(evaluation, passed / len(ids), passed)


def build(run_dir: Path, n_agents: int, store_url: str | None = None, tasks: int = 0) -> dict[str, float]:
    """The synthetic archive, in archive.db or (store_url) in PostgreSQL; `tasks` task results
    per evaluated agent."""
    from dgm.archive import Archive

    rng = random.Random(42)
    run_dir.mkdir(parents=True)
    (run_dir / "run.toml").write_text('name = "bench"\n' + (f'\n[store]\nurl = "{store_url}"\n' if store_url else ""))
    seed_dir = run_dir.parent / "seed"
    for name, data in seed_files(rng).items():
        (seed_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (seed_dir / name).write_bytes(data)
    trees: dict[str, dict[str, bytes]] = {}
    scores: dict[str, float] = {}
    children: dict[str, int] = {}
    ids: list[str] = []
    add_times: list[float] = []
    with Archive.create(run_dir) as store:
        start = time.perf_counter()
        seed = store.add_seed(seed_dir)
        add_times.append(time.perf_counter() - start)
        trees[seed.id] = store.read_tree(seed.id)
        verdicts = random.Random(7)  # its own stream: the agents are the same whatever `tasks` is
        if tasks:
            evaluate(store, seed.id, 0.2, tasks, verdicts)
        store.set_score(seed.id, 0.2)
        store.set_status(seed.id, "evaluated")
        scores[seed.id], children[seed.id] = 0.2, 0
        ids.append(seed.id)
        for iteration in range(1, n_agents):
            # DGM-like: sigmoid(10 (score - 0.5)) / (1 + children), over a sample of candidates
            pool = rng.sample(ids, min(len(ids), 64))
            weights = [1 / (1 + math.exp(-10 * (scores[a] - 0.5))) / (1 + children[a]) for a in pool]
            parent = rng.choices(pool, weights)[0]
            files = mutate(trees[parent], rng)
            invalid = rng.random() < 0.1
            start = time.perf_counter()
            child = store.add_child(
                parent, files, iteration=iteration, status="invalid" if invalid else "pending",
                status_reason="failed the smoke task" if invalid else None,
                meta={"problem_statement": f"improve tool {iteration % 10}"},
            )
            add_times.append(time.perf_counter() - start)
            children[parent] += 1
            # as the loop records it: the making under the parent with the child's iteration
            store.record_llm_call(agent_id=parent, task_id=None, purpose="self-modify", model="scripted", prompt_tokens=900,
                                  completion_tokens=300, cost_usd=0.004, latency=1.2, outcome="ok", iteration=iteration, step="self-modify")
            if not invalid:
                score = min(1.0, max(0.0, scores[parent] + rng.gauss(0.002, 0.03)))
                evaluate(store, child.id, score, tasks, verdicts)
                store.set_score(child.id, score)
                store.set_status(child.id, "evaluated")
                store.record_llm_call(agent_id=child.id, task_id=None, purpose="solve", model="scripted", prompt_tokens=2000,
                                      completion_tokens=400, cost_usd=0.006, latency=2.0, outcome="ok", iteration=iteration, step="solve")
                scores[child.id], children[child.id] = score, 0
                trees[child.id] = files
                ids.append(child.id)
            if iteration % 1000 == 0:
                print(f"  ... {iteration} agents, {statistics.mean(add_times[-1000:]) * 1000:.1f} ms per add_child", flush=True)
        best = store.best()
    return {"add_median": statistics.median(add_times), "add_mean": statistics.mean(add_times), "best": best.id if best else "a1", "last": f"a{n_agents}"}


def size(paths: list[Path]) -> tuple[int, int]:
    """(bytes in files, bytes on disk in blocks): loose git objects cost a block each."""
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return sum(f.stat().st_size for f in files), sum(f.stat().st_blocks * 512 for f in files)


def per_agent(label: str, sizes: tuple[int, int], n: int) -> str:
    return f"{label}: {sizes[0] / n / 1024:.2f} KiB per agent in files, {sizes[1] / n / 1024:.2f} KiB on disk ({sizes[1] / 2**20:.1f} MiB)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=60, help="task results per evaluated agent")
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it")
    args = parser.parse_args()

    print("== start-up")
    base = median_wall([sys.executable, "-c", "import sqlite3"], 10)
    help_time = median_wall([DGM, "--help"], 10)
    print(f"python -c 'import sqlite3': {base * 1000:6.1f} ms")
    print(f"dgm --help:                 {help_time * 1000:6.1f} ms  ratio {help_time / base:.2f}x (goal <= 3x): {'OK' if help_time <= 3 * base else 'OVER'}")
    floor = median_wall([sys.executable, "-c", "import typer, typer._adapters, rich.console, rich.table"], 5)
    print(f"floor of any typer command: {floor * 1000:6.1f} ms (typer 0.29 imports pydantic to coerce every non-flag option)")

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench-archive-"))
    run_dir = tmp / "run"
    try:
        print(f"\n== building a synthetic archive of {args.agents} agents ({args.tasks} tasks each) in {run_dir}")
        start = time.perf_counter()
        built = build(run_dir, args.agents, tasks=args.tasks)
        print(f"built in {time.perf_counter() - start:.1f} s (with ledger, evaluation and status rows)")
        print(f"add_child: median {built['add_median'] * 1000:.2f} ms, mean {built['add_mean'] * 1000:.2f} ms per agent")

        print("\n== imports of the browse path")
        for cmd in (["--help"], ["archive", "ls", "--run", str(run_dir)]):
            loaded = modules_loaded(cmd)
            bad = [m for m in FORBIDDEN if m in loaded]
            heavy = [m for m in HEAVY if m in loaded]
            print(f"dgm {' '.join(cmd[:2])}: forbidden imported: {bad or 'none'} ({'OK' if not bad else 'FAIL'}); sqlmodel/sqlalchemy/GitPython: {heavy or 'none'}")

        print(f"\n== CLI on {args.agents} agents (median of {ROUNDS} subprocess calls)")
        for label, cmd in (
            ("ls", ["archive", "ls"]),
            ("ls --sort score", ["archive", "ls", "--sort", "score"]),
            ("tree", ["archive", "tree"]),
            (f"show {built['best']} (best)", ["archive", "show", built["best"]]),
            (f"show {built['last']} (last)", ["archive", "show", built["last"]]),
            ("best", ["archive", "best"]),
            ("status", ["status"]),
            ("diff (last vs parent)", ["archive", "diff", built["last"]]),
            ("ls --json --limit 0 (all)", ["archive", "ls", "--json", "--limit", "0"]),
            ("tree --json (all)", ["archive", "tree", "--json"]),
        ):
            wall = median_wall([DGM, *cmd, "--run", str(run_dir)])
            goal = label.split()[0] in ("ls", "tree", "show", "best", "status") and "json" not in label
            verdict = ("OK" if wall < GOAL_CLI else "OVER") if goal else "(no goal)"
            name = f"archive {label}" if cmd[0] == "archive" else label
            print(f"dgm {name:<36} {wall * 1000:7.1f} ms  {verdict}")

        print("\n== task counts: the columns against counting task_results on every read (the old way)")
        from dgm.archive.queries import TASK_TALLY
        from dgm.archive.reader import Reader

        with Reader.open(run_dir) as reader:
            columns = median_call(reader.task_counts)
            counting = median_call(lambda: reader._rows(TASK_TALLY))
            drift = median_call(reader.task_count_drift, 3)
        print(f"task_counts() from columns: {columns * 1000:.1f} ms; counted from task_results: {counting * 1000:.1f} ms "
              f"({counting / columns:.0f}x); verify's check of every agent: {drift * 1000:.1f} ms")

        print("\n== sizes per agent")
        n = args.agents
        print(per_agent("archive.db (+wal)", size([run_dir / "archive.db", *run_dir.glob("archive.db-*")]), n))
        print(per_agent("agents.git, as the store left it (gc --auto every 500 agents)", size([run_dir / "agents.git"]), n))
        from dgm.archive import Archive

        with Archive.open(run_dir) as store:
            start = time.perf_counter()
            store.compact()
            packed_time = time.perf_counter() - start
        print(per_agent("archive.db, checkpointed", size([run_dir / "archive.db"]), n))
        print(per_agent("agents.git, packed", size([run_dir / "agents.git"]), n) + f"; Archive.compact() took {packed_time:.1f} s")
        wall = median_wall([DGM, "archive", "show", built["last"], "--run", str(run_dir)])
        print(f"dgm archive show after packing: {wall * 1000:.1f} ms")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
