"""What the LLM relay costs per call: an agent's request to its worker node's relay socket,
through the bridge actor, pulled by the head and answered by the head's gateway, against the
same request to the gateway's own unix socket (the path of a sandbox on the head, the
baseline). Both with `dgm run` on a node of the cluster and as a Ray Client outside it
(`ray://`). The scripted model answers at once, so this is the transport alone; a real
model call takes seconds.

    python benchmarks/bench_relay.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "archive" / "seeds" / "coder"
CALLS = 100
THREADS, PER_THREAD = 16, 10
MESSAGES = [{"role": "user", "content": "Complete the function in solution.py. " * 20}]


def client_for(socket_path: str, token_file: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location("seed_llm_client", SEED / "llm_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GatewayClient(socket_path, token_file, retries=0)


def measure(client) -> dict[str, float]:
    """Median seconds of one call alone, and calls per second with THREADS callers at once."""
    one = []
    for _ in range(CALLS):
        start = time.perf_counter()
        client.chat(MESSAGES, None, 100, 0.2)
        one.append(time.perf_counter() - start)

    failed = []

    def caller() -> None:
        for _ in range(PER_THREAD):
            try:
                client.chat(MESSAGES, None, 100, 0.2)
            except Exception as exc:  # noqa: BLE001 - counted: a failed call must show in the figures
                failed.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if failed:
        raise RuntimeError(f"{len(failed)} of {THREADS * PER_THREAD} calls at once failed: {failed[0]}")
    return {"median_s": statistics.median(one), "per_second": THREADS * PER_THREAD / seconds}


class Agent:
    """A worker node's side: the node's relay socket, and a client calling it as an agent would."""

    def __init__(self, bridge, token: str):
        from dgm.cluster.node_host import RelayService
        from dgm.llm.server import UnixHTTPServer

        folder = Path(tempfile.mkdtemp(prefix="dgm-bench-relay-"))
        (folder / "token").write_text(token)
        self.server = UnixHTTPServer(str(folder / "llm.sock"), RelayService(bridge, 1_000_000))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client = client_for(str(folder / "llm.sock"), str(folder / "token"))

    def measure(self) -> dict[str, float]:
        return measure(self.client)


def driver(address: str) -> None:
    """One `dgm run`-like driver connected to `address`: prints its figures as JSON."""
    import ray

    from dgm.archive import Archive
    from dgm.cluster.connect import connect
    from dgm.cluster.bridge import BridgeLimits
    from dgm.cluster.ray_backend import RESOURCE, open_relay
    from dgm.config import BudgetConfig, ModelConfig, RunConfig, dump_config
    from dgm.llm import Gateway, GatewayLimits, ScriptedModel

    connect(address)
    model = ScriptedModel(lambda request: "ok", name="scripted:dry-run")
    config = RunConfig(name="bench", model=ModelConfig(name="scripted:dry-run"),
                       budget=BudgetConfig(usd_total=1000.0, usd_per_task=100.0))
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        (Path(tmp) / "run.toml").write_text(dump_config(config))
        store = stack.enter_context(Archive.create(Path(tmp)))
        gateway = stack.enter_context(Gateway(model, config, store, limits=GatewayLimits(calls_per_minute=10**6, calls_per_grant=10**6)))
        mounts = stack.enter_context(gateway.grant(agent_id="a1", task_id="t1", purpose="solve"))
        folder = Path(mounts[0].host_path)
        direct = measure(client_for(str(folder / "llm.sock"), str(folder / "token")))
        bridge, head = open_relay(gateway, BridgeLimits())
        stack.callback(head.close)
        agent = ray.remote(Agent).options(num_cpus=0, resources={RESOURCE: 0.01}, max_concurrency=THREADS + 4).remote(
            bridge, (folder / "token").read_text())
        relayed = ray.get(agent.measure.remote())
        deadline = time.monotonic() + 30
        while head.served < CALLS + THREADS * PER_THREAD and time.monotonic() < deadline:
            time.sleep(0.05)  # the head counts a call once the bridge took its answer
        served = head.served
    print(json.dumps({"direct": direct, "relayed": relayed, "served": served}))


def main() -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import socket

    from ray.cluster_utils import Cluster

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = 80 * 1024 * 1024
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": store,
                                                            "include_dashboard": False, "ray_client_server_port": port})
    try:
        cluster.add_node(num_cpus=1, resources={"dgm_sandbox": 1}, object_store_memory=store)
        cluster.wait_for_nodes()
        print(f"{CALLS} calls one at a time, then {THREADS} callers x {PER_THREAD} calls at once; scripted model, no latency")
        for label, address in (("dgm run on a node", cluster.address), ("dgm run as a Ray Client", f"ray://127.0.0.1:{port}")):
            done = subprocess.run([sys.executable, __file__, "--driver", address], capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                print(done.stderr[-3000:])
                return 1
            got = json.loads(done.stdout.strip().splitlines()[-1])
            d, r = got["direct"], got["relayed"]
            print(f"{label}: one call {r['median_s'] * 1e3:6.1f} ms relayed vs {d['median_s'] * 1e3:5.1f} ms on the head's "
                  f"socket (+{(r['median_s'] - d['median_s']) * 1e3:.1f} ms); {r['per_second']:6.1f} calls/s relayed vs "
                  f"{d['per_second']:6.1f} direct ({r['per_second'] / d['per_second']:.2f}); {got['served']} served by the head", flush=True)
    finally:
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--driver"]:
        driver(sys.argv[2])
    else:
        sys.exit(main())
