"""Opening a run and stopping it hard: the lifecycle lives here, the CLI only renders it.

`open_run` assembles what the daemon works with (the one-daemon lock, the archive, the sandbox
backend, the LLM gateway, the executor) in the order each needs the others, and closes them in
reverse; `hard_stop` is the clean-up of a process that is about to end without joining its
workers. `open_gateway` is the one place a gateway is built for a config, for runs and for
`dgm eval --model` alike.
"""

from __future__ import annotations

import hashlib
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from dgm.config import RunConfig, load_config
from dgm.loop.iteration import LoopContext
from dgm.loop.lock import daemon_lock
from dgm.loop.preflight import check_before_start

if TYPE_CHECKING:
    from dgm.archive.contract import Ledger, RunStore
    from dgm.evals.reuse import DiskCache
    from dgm.sandbox import Backend

    from dgm.llm import Gateway


@contextmanager
def open_gateway(config: RunConfig, ledger: Ledger) -> Iterator[Gateway]:
    """The host-side LLM gateway for the config's model, writing every call to `ledger`."""
    from dgm.llm import Gateway, make_model

    with Gateway(make_model(config.model), config, ledger=ledger) as gateway:
        yield gateway


@contextmanager
def open_run(run_dir: Path, config: RunConfig | None = None) -> Iterator[LoopContext]:
    """A run ready for the daemon. Checks what would fail only after money was spent, then
    takes the run's lock and opens its archive, sandbox backend, gateway and executor.

    Raises: ConfigError, DaemonBusyError (another daemon has the run), NotARunError and the
    archive's errors, NoBackendError (no sandbox backend works here), ClusterError.
    """
    from dgm.archive import Archive

    from dgm.loop.executor import make_executor

    config = config or load_config(run_dir / "run.toml")
    check_before_start(config)
    with ExitStack() as stack:
        stack.enter_context(daemon_lock(run_dir))
        store = stack.enter_context(Archive.open(run_dir))
        gateway = stack.enter_context(open_gateway(config, store))
        backend = open_sandboxes(config, gateway, stack)
        executor = stack.enter_context(make_executor(config, getattr(backend, "total_slots", 0)))
        yield LoopContext(run_dir, config, store, backend, gateway, executor)


def open_sandboxes(config: RunConfig, gateway: Gateway, stack: ExitStack) -> Backend:
    """This machine's sandbox backend, or with `[executor] kind = "ray"` the cluster's (its
    connection closed by `stack`), relaying LLM calls to `gateway`.

    Raises: NoBackendError; ClusterError when the cluster cannot be used.
    """
    from dgm.evals.registry import image_for
    from dgm.sandbox import open_backend

    image = image_for(list(config.eval.suites), config.sandbox.image)
    if config.executor.kind != "ray":
        warm = config.sandbox.warm if config.sandbox.warm >= 0 else config.jobs_in_flight * config.eval.workers
        backend = open_backend(config.sandbox.backend, image=image, warm=warm)
        stack.callback(backend.close)
        return backend
    from dgm.cluster.connect import connect, disconnect
    from dgm.cluster.ray_backend import RayBackend

    if not config.executor.address:  # a Ray instance of our own: this machine's sandbox must work
        open_backend(config.sandbox.backend, image=image)
    if connect(config.executor.address, config.executor.local_slots or config.jobs_in_flight * config.eval.workers):
        stack.callback(disconnect)
    address = config.executor.address
    backend = RayBackend(backend=config.sandbox.backend, image=image, gateway=gateway,
                         reconnect=(lambda: connect(address)) if address.startswith("ray://") else None)
    stack.callback(backend.close)  # before the disconnect and the gateway: waiting LLM calls end with 502
    return backend


@dataclass(frozen=True)
class HardStop:
    """What a hard stop did: the process ends right after (its workers are never joined)."""

    removed: int
    """Sandboxes of this process removed (-1: the sweep failed; the next start sweeps them)."""
    in_flight: int
    """Jobs left 'running', which the next 'dgm run' re-queues."""
    problem: str = ""


def hard_stop(archive: RunStore, backend: Backend, run_name: str) -> HardStop:
    """Remove this process's sandboxes and record the stop, for a process that leaves at once.

    Jobs in flight stay 'running' in the archive and resume on the next start; SQLite's
    transactions keep every write whole. Never raises: a third signal or a broken archive
    only shortens the clean-up, since the caller must be able to leave regardless.
    """
    from dgm.sandbox import SandboxError

    in_flight = 0
    try:
        in_flight = sum(job.state == "running" for job in archive.jobs())
        archive.log_event("stopped", "stopped at once by a second signal; in-flight jobs resume on the next 'dgm run'")
        return HardStop(backend.sweep(run_name, include_own=True), in_flight)
    except SandboxError as exc:
        return HardStop(-1, in_flight, f"sandboxes may be left (the next 'dgm run' sweeps them): {exc}")
    except BaseException as exc:  # noqa: BLE001 - a third signal, or the archive gone: still leave now
        return HardStop(-1, in_flight, f"{type(exc).__name__} during clean-up")


@dataclass(frozen=True)
class EvalModel:
    """LLM access for `dgm eval`: the gateway (None: the agent gets no LLM), the cache of
    results for this model, the spend so far, and whether the model failed a task (its calls
    for that task all errors: the task failed for the model, not for the agent)."""

    gateway: Gateway | None
    cache: DiskCache | None
    spend: Callable[[], float]
    model_failed: Callable[[str], bool]


@contextmanager
def open_eval_model(model: str | None, api_base: str) -> Iterator[EvalModel]:
    """A gateway for one evaluation outside any run, with a throw-away run as its ledger.
    Results are cached per model, since the same agent scores differently with another one.

    Raises: ConfigError (missing key), UnknownSuiteError.
    """
    if not model:
        yield EvalModel(None, None, lambda: 0.0, lambda task_id: False)
        return
    from dgm.archive import Archive
    from dgm.evals.reuse import DiskCache, cache_root

    from dgm.config import ModelConfig, dump_config

    config = RunConfig(name="eval", model=ModelConfig(name=model, api_base=api_base))
    check_before_start(config)
    cache = DiskCache(cache_root() / ("model-" + hashlib.sha256(f"{model}\0{api_base}".encode()).hexdigest()[:16]))
    with tempfile.TemporaryDirectory(prefix="dgm-eval-ledger-") as tmp:
        (Path(tmp) / "run.toml").write_text(dump_config(config), encoding="utf-8")
        with Archive.create(Path(tmp)) as ledger, open_gateway(config, ledger) as gateway:
            def model_failed(task_id: str) -> bool:
                outcomes = {c.outcome for c in ledger.llm_calls(purpose="solve") if c.task_id == task_id}
                return "error" in outcomes and "ok" not in outcomes

            yield EvalModel(gateway, cache, lambda: ledger.spend().usd, model_failed)
