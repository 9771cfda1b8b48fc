"""The loop's own overhead per child, LLM and sandbox time excluded, on a 1,000-agent archive.

Per child it does what the daemon does around the model and the sandboxes: parent selection
(candidates, reviews, children counts, the weighted draw), the job's enqueue/claim/finish,
reading the parent's tree, the git commit of the child, the database writes (status, score,
events) and the child's diff. The baseline is one `git commit` of the same change made with
the git command line in a plain repository, measured in the same script.

    python benchmarks/bench_loop.py [N_AGENTS] [N_CHILDREN]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def loop_overhead(run_dir: Path, n_children: int) -> list[float]:
    from dgm.config import RunConfig
    from dgm.loop.daemon import Daemon, StopConditions
    from dgm.loop.iteration import LoopContext

    from dgm.archive import Archive

    store = Archive.open(run_dir)
    ctx = LoopContext(run_dir, RunConfig(name="bench"), store, backend=None, gateway=None, executor=None)  # type: ignore[arg-type]
    daemon = Daemon(ctx, StopConditions())
    times = []
    for _ in range(n_children):
        start = time.perf_counter()
        daemon._enqueue_next_child()  # selection + job row + event
        job = daemon._claim()  # as the daemon claims: evaluations left over first, then children
        parent = job.payload["parent"]
        files = store.read_tree(parent)
        files["prompts.py"] = files["prompts.py"] + f"\n# child of iteration {job.payload['iteration']}\n".encode()
        child = store.add_child(parent, files, iteration=job.payload["iteration"], meta={"problem_statement": "bench"})
        store.set_status(child.id, "evaluating")
        store.set_score(child.id, 0.5)
        store.set_status(child.id, "evaluated")
        store.log_event("evaluated", f"{child.id} scored 0.500", agent_id=child.id)
        store.finish_job(job.id, ok=True)
        diff = store.diff(child.id)
        assert "child of iteration" in diff
        times.append(time.perf_counter() - start)
    store.close()
    return times


def git_cli_commits(files: dict[str, bytes], n: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
        run("init", "-q")
        run("config", "user.email", "bench@dgm")
        run("config", "user.name", "bench")
        for path, data in files.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_bytes(data)
        run("add", "-A")
        run("commit", "-qm", "seed")
        times = []
        for i in range(n):
            start = time.perf_counter()
            with open(repo / "prompts.py", "ab") as handle:
                handle.write(f"\n# child of iteration {i}\n".encode())
            run("add", "-A")
            run("commit", "-qm", f"child {i}")
            times.append(time.perf_counter() - start)
        return times


def main() -> None:
    n_agents = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    n_children = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    from dgm.report.demo import build_demo_archive

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "bench"
        start = time.perf_counter()
        store, stats = build_demo_archive(run_dir, n_agents, reviewer=True)
        seed_files = store.read_tree(store.agents()[0].id)
        store.close()
        print(f"archive of {stats.agents} agents built in {time.perf_counter() - start:.1f}s")
        ours = loop_overhead(run_dir, n_children)
        baseline = git_cli_commits(seed_files, n_children)
    median, base = statistics.median(ours), statistics.median(baseline)
    print(f"loop overhead per child: median {median * 1000:.1f} ms (p90 {sorted(ours)[int(0.9 * len(ours))] * 1000:.1f} ms) over {n_children} children")
    print(f"git CLI commit of the same change: median {base * 1000:.1f} ms")
    print(f"ratio: {median / base:.2f}x one git CLI commit")


if __name__ == "__main__":
    main()
