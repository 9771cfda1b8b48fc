"""Throughput of sandboxed task runs when the model is the bottleneck, locally and on Ray.

Each task run is what an evaluation does: a fresh sandbox with the agent's tree, an agent that
asks the model CALLS times through /run/llm (the scripted model answers after a fixed LATENCY),
its /work read back, the sandbox closed. Measured in the same script:

1. Local executor, 2, 8 and 32 sandboxes in flight: task runs per minute as a fraction of the
   ideal (slots / (CALLS x LATENCY)), and the memory per in-flight sandbox (the sandboxes'
   cgroup memory plus the head's growth, divided by the sandboxes seen at once). Goal: >= 0.9 at 32.
   Every slot first runs one round that is not counted (the run's start: every sandbox starts
   at once, and the warm pool fills), then ROUNDS counted ones; the first round's length is
   printed beside. Measured four times, in the same script: Docker containers started on
   demand (the baseline), Docker with the warm pool `dgm run` uses (`[sandbox] warm`, one per
   slot), and bubblewrap (no engine in between) on demand and with the warm pool.
2. Ray with 1, 2 and 4 worker nodes of one slot each (a real local cluster): throughput as a
   fraction of linear scaling from one node. Goal: >= 0.8 at 4.
3. Executor overhead per job for a 1-second sandboxed task (start, `sleep 1`, close), Ray
   versus this machine's backend directly. Goal: <= 1.2x.

    python benchmarks/bench_ray.py [--quick] [--local] [--calls N]
    (--local: the local executor only; --calls: model calls per task run, default 2: a real
    agent makes more, and the host's own cost per task then weighs less)
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LATENCY = 4.0
CALLS = 2
ROUNDS = 3
AGENT = """import sys
sys.path.insert(0, "/agent")
from llm_client import GatewayClient
client = GatewayClient()
for i in range({calls}):
    client.chat([{{"role": "user", "content": "step %d" % i}}])
open("/work/out.txt", "w").write("done")
"""


def agent_dir(tmp: Path) -> Path:
    dest = tmp / "agent"
    dest.mkdir()
    shutil.copy(ROOT / "archive" / "seeds" / "coder" / "llm_client.py", dest / "llm_client.py")
    (dest / "agent.py").write_text(AGENT.format(calls=CALLS))
    return dest


def open_gateway(stack: ExitStack, tmp: Path):
    from dgm.archive import Archive

    from dgm.config import ModelConfig, RunConfig, dump_config
    from dgm.llm import Gateway
    from dgm.llm.scripted import Answer, ScriptedModel

    config = RunConfig(name="bench", model=ModelConfig(name="scripted:dry-run", scripted_latency=LATENCY))
    (tmp / "run.toml").write_text(dump_config(config), encoding="utf-8")
    ledger = stack.enter_context(Archive.create(tmp))
    model = ScriptedModel(lambda request: Answer.say("ok"), name="scripted:dry-run", latency=LATENCY)
    return stack.enter_context(Gateway(model, config, ledger=ledger))


def task_runs(backend, gateway, agent: Path, slots: int, rounds: int, sampler=None, warmup: int = 0) -> tuple[float, int, float]:
    """`slots` threads each doing `warmup` uncounted then `rounds` counted task runs; returns
    (seconds of the counted rounds, counted runs that finished ok, seconds of the warm-up)."""
    from dgm.evals.agent_run import run_agent
    from dgm.sandbox import Limits

    done = []
    limits = Limits(wall_seconds=300, exec_timeout=240, memory_mb=256)
    counted = threading.Barrier(slots + 1)

    def worker(k: int) -> None:
        for r in range(warmup + rounds):
            if r == warmup:
                counted.wait()
            with gateway.grant(agent_id=None, task_id=f"t{k}-{r}", purpose="solve") as mounts:
                run = run_agent(backend, agent, "bench", {}, limits=limits, llm_mounts=mounts, labels={"run": "bench-ray"})
            if r >= warmup:
                done.append(run.files.get("out.txt") == b"done")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(slots)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    counted.wait()
    start = time.monotonic()
    if sampler is not None:
        sampler(threads)
    for t in threads:
        t.join()
    return time.monotonic() - start, sum(done), start - begin


def sandbox_memory(backend) -> tuple[int, int]:
    """(bytes of memory, count) of the bench's live sandboxes, read from their cgroups: for
    Docker, the containers labelled for this bench (one API call, no `docker` process, which
    would cost the engine CPU the measure is about); for bubblewrap, the sessions' own groups."""
    groups: list[Path] = []
    if backend.name == "docker":
        rows = backend.client.api.containers(filters={"label": "dgm.run=bench-ray"})
        for row in rows:
            cid = row["Id"]
            groups += [Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope"), Path(f"/sys/fs/cgroup/docker/{cid}"),
                       Path(f"/sys/fs/cgroup/memory/docker/{cid}")]
    elif backend.cgroups is not None:
        from dgm.sandbox.cgroups import PREFIX

        groups = list(backend.cgroups.parents["memory"].glob(f"{PREFIX}*"))
    total, seen = 0, 0
    for group in groups:
        for name in ("memory.current", "memory.usage_in_bytes"):
            try:
                total += int((group / name).read_text())
            except (OSError, ValueError):
                continue
            seen += 1
            break
    return total, seen


MODES = (("docker", "on demand"), ("docker", "warm pool"), ("bwrap", "on demand"), ("bwrap", "warm pool"))


def local_section(quick: bool, sizes: tuple[int, ...] = (2, 8, 32)) -> list[tuple[int, list[float], list[float]]]:
    """Rows (slots, fraction of ideal in each of MODES, bytes of memory per sandbox in each)."""
    from dgm.sandbox import open_backend

    rows = []
    for slots in (sizes[:2] if quick else sizes):
        ratios, memories = [], []
        for kind, how in MODES:
            with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
                gateway = open_gateway(stack, Path(tmp))
                backend = open_backend(kind, warm=slots if how == "warm pool" else 0)
                stack.callback(backend.close)
                agent = agent_dir(Path(tmp))
                peak = [0, 0]

                def sample(threads):
                    while any(t.is_alive() for t in threads):
                        mem, n = sandbox_memory(backend)
                        if n > peak[1] or (n == peak[1] and mem > peak[0]):
                            peak[:] = [mem, n]
                        time.sleep(1.0)

                rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
                seconds, ok, first = task_runs(backend, gateway, agent, slots, ROUNDS, sample, warmup=1)
                rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            ideal = slots / (CALLS * LATENCY)  # task runs per second
            ratios.append(ok / seconds / ideal)
            per_sandbox = (peak[0] + max(0, rss1 - rss0)) / max(1, peak[1])
            memories.append(per_sandbox)
            memory = f"; {per_sandbox / 2**20:.0f} MiB per sandbox ({peak[1]} seen at once)" if peak[1] else ""
            print(f"local, {slots:2d} in flight, {kind:6s} {how:9s}: {ok / seconds * 60:6.1f} task runs/min, ideal {ideal * 60:6.1f}: "
                  f"{ratios[-1]:.2f} of ideal ({seconds / ROUNDS - CALLS * LATENCY:.2f} s over the model's time per round; "
                  f"first round {first:.1f} s){memory}", flush=True)
        rows.append((slots, ratios, memories))
    return rows


def ray_section(quick: bool) -> tuple[list[tuple[int, float]], float]:
    import ray
    from ray.cluster_utils import Cluster

    from dgm.cluster.ray_backend import RayBackend
    from dgm.sandbox import open_backend

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    store = 80 * 1024 * 1024
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": store, "include_dashboard": False})
    rates, overhead = [], 0.0
    try:
        ray.init(address=cluster.address, namespace="dgm", log_to_driver=False)
        nodes = 0
        for target in ((1, 2) if quick else (1, 2, 4)):
            while nodes < target:
                cluster.add_node(num_cpus=1, resources={"dgm_sandbox": 1}, object_store_memory=store)
                nodes += 1
            cluster.wait_for_nodes()
            with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
                gateway = open_gateway(stack, Path(tmp))
                backend = RayBackend(backend="docker", gateway=gateway)
                stack.callback(backend.close)
                assert backend.total_slots == target, backend.total_slots
                seconds, ok, _ = task_runs(backend, gateway, agent_dir(Path(tmp)), target, 3)
                rates.append((target, ok / seconds))
                print(f"ray, {target} worker node(s) of 1 slot: {ok / seconds * 60:6.1f} task runs/min, "
                      f"{ok / seconds / (target * rates[0][1]):.2f} of linear scaling", flush=True)
            if target == 1:
                overhead = job_overhead(RayBackend(backend="docker"), open_backend("docker"))
    finally:
        ray.shutdown()
        cluster.shutdown()
    return [(n, r / (n * rates[0][1])) for n, r in rates], overhead


def job_overhead(ray_backend, local_backend, jobs: int = 6) -> float:
    """Median seconds of one 1-second sandboxed job on Ray over the same job run locally."""

    def one(backend) -> float:
        start = time.monotonic()
        with backend.start(labels={"run": "bench-ray"}) as session:
            assert session.exec(["sleep", "1"]).ok
        return time.monotonic() - start

    one(ray_backend), one(local_backend)  # warm both
    on_ray = statistics.median(one(ray_backend) for _ in range(jobs))
    local = statistics.median(one(local_backend) for _ in range(jobs))
    print(f"one 1-second sandboxed job: ray {on_ray:.2f} s, local {local:.2f} s: {on_ray / local:.2f}x", flush=True)
    return on_ray / local


def main() -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    global CALLS
    quick = "--quick" in sys.argv
    if "--calls" in sys.argv:
        CALLS = int(sys.argv[sys.argv.index("--calls") + 1])
    print(f"scripted model: {CALLS} calls of {LATENCY:.0f} s per task run; {os.cpu_count()} CPU(s)", flush=True)
    local = local_section(quick)
    if "--local" in sys.argv:
        return 0
    scaling, overhead = ray_section(quick)
    print("summary:")
    slots, ratios, memories = local[-1]
    shown = ", ".join(f"{kind} {how} {ratio:.2f} ({memory / 2**20:.0f} MiB per sandbox)"
                      for (kind, how), ratio, memory in zip(MODES, ratios, memories))
    print(f"  local executor at {slots} in flight, fraction of ideal (goal >= 0.9): {shown}")
    print(f"  ray at {scaling[-1][0]} nodes: {scaling[-1][1]:.2f} of linear scaling (goal >= 0.8)")
    print(f"  ray job overhead: {overhead:.2f}x local (goal <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
