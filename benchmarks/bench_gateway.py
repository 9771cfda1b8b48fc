"""Gateway overhead per call, excluding the model: a sandbox-side request through the gateway
(auth, request checks, budget reads, a ledger row in a real archive) against the same request
to a bare HTTP server on a unix socket that answers a canned completion (transport only), and
against calling the scripted model in-process.

    python benchmarks/bench_gateway.py
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import tempfile
import time
from pathlib import Path

from dgm.archive import Archive
from dgm.config import BudgetConfig, ModelConfig, RunConfig, dump_config
from dgm.llm import Gateway, GatewayLimits, ScriptedModel

CALLS = 200
SEED = Path(__file__).resolve().parents[1] / "archive" / "seeds" / "coder"
MESSAGES = [{"role": "system", "content": "You are a coding agent. " * 40},
            {"role": "user", "content": "Complete the function in solution.py. " * 20}]


def seed_client_module():
    spec = importlib.util.spec_from_file_location("seed_llm_client", SEED / "llm_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


class Bare:
    """The baseline: the same stdlib HTTP server and handler, no policy and no ledger."""

    max_request_bytes = 10**7

    def __init__(self, model):
        self.model = model

    def serve(self, token, body, length):
        from dgm.llm.wire import completion_body

        data = json.loads(body)
        return 200, completion_body(self.model.complete(data["messages"], max_tokens=100, temperature=0.2))


def bare_server(model, path: Path):
    import threading

    from dgm.llm.server import UnixHTTPServer

    server = UnixHTTPServer(str(path), Bare(model))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    model = ScriptedModel(lambda request: "ok", name="scripted:dry-run")
    direct = timed(lambda: model.complete(MESSAGES, max_tokens=100, temperature=0.2), CALLS)
    client_module = seed_client_module()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "token").write_text("x")
        server = bare_server(model, Path(tmp) / "bare.sock")
        bare_client = client_module.GatewayClient(str(Path(tmp) / "bare.sock"), str(Path(tmp) / "token"), retries=0)
        bare = timed(lambda: bare_client.chat(MESSAGES, None, 100, 0.2), CALLS)
        server.shutdown()
        server.server_close()
        run_dir = Path(tmp) / "bench"
        run_dir.mkdir()
        config = RunConfig(name="bench", model=ModelConfig(name="scripted:dry-run"),
                           budget=BudgetConfig(usd_total=1000.0, usd_per_task=100.0))
        (run_dir / "run.toml").write_text(dump_config(config))
        with Archive.create(run_dir) as store, Gateway(model, config, store, limits=GatewayLimits(calls_per_minute=10**6, calls_per_grant=10**6)) as gateway:
            with gateway.grant(agent_id="a1", task_id="t1", purpose="solve") as mounts:
                folder = Path(mounts[0].host_path)
                client = client_module.GatewayClient(str(folder / "llm.sock"), str(folder / "token"), retries=0)
                via_gateway = timed(lambda: client.chat(MESSAGES, None, 100, 0.2), CALLS)
            rows = store.spend().calls
    d, b, g = statistics.median(direct), statistics.median(bare), statistics.median(via_gateway)
    print(f"calls: {CALLS} each (ledger rows written: {rows})")
    print(f"scripted model in-process:            median {d * 1e3:8.3f} ms")
    print(f"bare HTTP on a unix socket (baseline): median {b * 1e3:8.3f} ms")
    print(f"through the gateway (policy + ledger): median {g * 1e3:8.3f} ms  p90 {sorted(via_gateway)[int(CALLS * 0.9)] * 1e3:.3f} ms")
    print(f"gateway / bare HTTP: {g / b:.2f}x; policy and ledger add {(g - b) * 1e3:.2f} ms per call "
          "(a real model call takes 1-30 s)")
    print(json.dumps({"model_ms": d * 1e3, "bare_http_ms": b * 1e3, "gateway_ms": g * 1e3, "ratio_vs_bare_http": g / b}))


if __name__ == "__main__":
    main()
