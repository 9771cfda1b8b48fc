"""Throughput of sandboxed task runs when the model is the bottleneck, locally and on Ray.

Each task run is what an evaluation does: a fresh sandbox with the agent's tree, an agent that
asks the model CALLS times through /run/llm (the scripted model answers after a fixed LATENCY),
its /work read back, the sandbox closed. Measured in the same script:

1. Local executor, 2, 8 and 32 sandboxes in flight: task runs per minute as a fraction of the
   ideal (slots / (CALLS x LATENCY)), and the memory per in-flight sandbox (the sandboxes'
   cgroup memory plus the head's growth, divided by the sandboxes seen at once). Goal: >= 0.9 at 32.
   Every slot runs task after task: one that is not counted (the run's start: every sandbox
   starts at once, and the warm pool fills), then ROUNDS counted ones, then more until every
   slot has done its counted ones, so the load never drops while any slot is counted. The
   throughput is the sum of the slots' own rates (counted runs over the time they took), what
   a daemon sustains for days; beside it, the counted runs over the whole span from the first
   counted start to the last counted end (lower by the ramp when slots begin apart), and the
   first round's length. Measured four times, in the same script: Docker containers started on
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
from dataclasses import dataclass
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


@dataclass
class Runs:
    """What `task_runs` measured."""

    rate: float
    """Sustained task runs per second: the sum over slots of each slot's counted runs divided by
    the time they took (a slot runs task after task, so this is the machine's steady rate)."""
    span_rate: float
    """Counted runs divided by the span from the first counted start to the last counted end:
    lower than `rate` by the ramp when slots begin their counted runs at different moments."""
    ok: int
    """Counted runs that finished with the agent's output."""
    counted: int
    first: float
    """Seconds until every slot had done its uncounted runs."""


def task_runs(backend, gateway, agent: Path, slots: int, rounds: int, sampler=None, warmup: int = 0) -> Runs:
    """`slots` threads each run task after task: `warmup` uncounted, `rounds` counted, then more
    uncounted ones until every slot has done its counted runs, so that `slots` are in flight
    for the whole of every slot's counted time (no slot's rate is flattered by a quieter end)."""
    from dgm.evals.agent_run import run_agent
    from dgm.sandbox import Limits

    limits = Limits(wall_seconds=300, exec_timeout=240, memory_mb=256)
    spans: list[tuple[float, float]] = []
    done: list[bool] = []
    finished = threading.Semaphore(0)
    stop = threading.Event()
    errors: list[str] = []

    def worker(k: int) -> None:
        r, begin = 0, 0.0
        while r < warmup + rounds or not stop.is_set():
            if r == warmup:
                begin = time.monotonic()
            try:
                with gateway.grant(agent_id=None, task_id=f"t{k}-{r}", purpose="solve") as mounts:
                    run = run_agent(backend, agent, "bench", {}, limits=limits, llm_mounts=mounts, labels={"run": "bench-ray"})
                ok = run.files.get("out.txt") == b"done"
            except Exception as exc:  # noqa: BLE001 - a failed run counts as failed, the slot goes on
                errors.append(f"{type(exc).__name__}: {exc}")
                ok = False
            r += 1
            if warmup < r <= warmup + rounds:
                done.append(ok)
            if r == warmup + rounds:
                spans.append((begin, time.monotonic()))
                finished.release()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(slots)]
    start = time.monotonic()
    for t in threads:
        t.start()
    if sampler is not None:
        threading.Thread(target=sampler, args=(threads,), daemon=True).start()
    for _ in threads:
        finished.acquire()
    stop.set()
    for t in threads:
        t.join()
    for error in sorted(set(errors)):
        print(f"  a task run failed ({errors.count(error)}x): {error}", flush=True)
    rate = sum(rounds / (end - begin) for begin, end in spans)
    span = max(end for _, end in spans) - min(begin for begin, _ in spans)
    return Runs(rate * sum(done) / len(done), sum(done) / span, sum(done), len(done), max(begin for begin, _ in spans) - start)


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
                runs = task_runs(backend, gateway, agent, slots, ROUNDS, sample, warmup=1)
                rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            ideal = slots / (CALLS * LATENCY)  # task runs per second
            ratios.append(runs.rate / ideal)
            per_sandbox = (peak[0] + max(0, rss1 - rss0)) / max(1, peak[1])
            memories.append(per_sandbox)
            memory = f"; {per_sandbox / 2**20:.0f} MiB per sandbox ({peak[1]} seen at once)" if peak[1] else ""
            print(f"local, {slots:2d} in flight, {kind:6s} {how:9s}: {runs.rate * 60:6.1f} task runs/min, ideal {ideal * 60:6.1f}: "
                  f"{ratios[-1]:.2f} of ideal ({slots / runs.rate - CALLS * LATENCY:.2f} s over the model's time per run; "
                  f"over the whole span {runs.span_rate / ideal:.2f}; {runs.ok}/{runs.counted} ok; first round {runs.first:.1f} s){memory}",
                  flush=True)
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
                runs = task_runs(backend, gateway, agent_dir(Path(tmp)), target, 3)
                rates.append((target, runs.rate))
                print(f"ray, {target} worker node(s) of 1 slot: {runs.rate * 60:6.1f} task runs/min, "
                      f"{runs.rate / (target * rates[0][1]):.2f} of linear scaling", flush=True)
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
