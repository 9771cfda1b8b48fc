"""A run's configuration: typed sections, loaded from and frozen into `run.toml`.

Only the standard library is imported here, so every command can read a config cheaply.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dgm.errors import ConfigError

SELECTION_METHODS = ("score_child_prop", "best", "random", "score_prop", "novelty", "hgm")


@dataclass
class ModelConfig:
    name: str = ""
    """A litellm model string (e.g. 'openai/gpt-4o', 'ollama/qwen2.5-coder'). Empty: the
    offline scripted model, a labelled dry run that exercises the machine but improves nothing."""
    api_base: str = ""
    """Base URL of an OpenAI-compatible server (Ollama, vLLM); empty for the provider's own."""
    diagnose_model: str = ""
    """Model for the host-side diagnosis; empty means `name`."""
    max_tokens: int = 4096
    """Clamp on every completion's max_tokens."""
    temperature: float = 0.7
    timeout: float = 120.0
    """Seconds before one upstream call is abandoned (then retried)."""
    max_retries: int = 4
    """Retries with backoff on rate limits, timeouts and server errors."""
    scripted_latency: float = 0.0
    """Seconds each call of the scripted (dry-run) model takes, to stand in for a real
    model's wait in benchmarks; real models ignore it."""

    @property
    def is_dry_run(self) -> bool:
        """No real model: the scripted one ('' or 'scripted:<scenario>', as tests use)."""
        return not self.name or self.name.startswith("scripted:")


@dataclass
class LoopConfig:
    selection: str = "score_child_prop"
    """Parent selection: score_child_prop (the DGM's), best, random, score_prop, novelty, or hgm
    (the Huxley-Gödel Machine's: clade Thompson sampling, and extra task evaluations scheduled
    against new children; its parameters are in [hgm])."""
    children_in_flight: int = 2
    """How many children are self-modified and evaluated at once."""
    max_iterations: int = 4
    """Children to produce before stopping (0: no limit)."""
    max_wall_hours: float = 0.0
    """Stop after this much wall time (0: no limit)."""
    meta_agent: str = "self"
    """'self': the parent rewrites itself (DGM mode); 'seed': the run's seed agent makes every
    child (the DGM paper's no-self-improvement ablation); else a directory of a fixed meta agent."""
    self_modify_timeout: float = 900.0
    """Wall-clock seconds for one self-modification."""
    diagnose_failures: int = 3
    """How many failed task logs the diagnosis sees."""
    require_approval: bool = False
    """When on, only agents a human approved (dgm review) can become parents."""


@dataclass
class HgmConfig:
    """Parameters of `selection = "hgm"` (see dgm/loop/selection/hgm.py)."""

    alpha: float = 0.6
    """Make a child when task_evaluations ** alpha >= children; else evaluate one more task."""
    cool_down: bool = False
    """Sharpen the Thompson posteriors as `budget_tasks` is used up."""
    beta: float = 1.0
    """Exponent of the cool-down temperature."""
    budget_tasks: int = 0
    """Task evaluations the cool-down counts against (0: none)."""
    clade: bool = True
    """Expand by clade counts (HGM); false: by own counts only (ablation)."""


@dataclass
class StageConfig:
    tasks: int
    min_score: float = 0.0
    """Score so far needed to run the next stage."""


@dataclass
class EvalConfig:
    suites: list[str] = field(default_factory=lambda: ["humaneval"])
    stages: list[StageConfig] = field(
        default_factory=lambda: [StageConfig(10, 0.4), StageConfig(50)]
    )
    """Staged evaluation, as in the DGM: 10 tasks, then 50 more at >= 40%."""
    seed: int = 0
    """Fixes the task subsets, so scores are comparable across agents."""
    workers: int = 2
    """Tasks run in parallel for one agent."""
    task_timeout: float = 300.0


@dataclass
class BudgetConfig:
    usd_total: float = 0.0
    """0 means no limit. A spent budget stops new work; paid work is kept."""
    tokens_total: int = 0
    usd_per_child: float = 0.0
    tokens_per_child: int = 0
    usd_per_task: float = 0.0
    tokens_per_task: int = 0


@dataclass
class SandboxConfig:
    backend: str = "auto"
    """'auto' (Docker, else bubblewrap), 'docker' or 'bwrap'. Never the bare host."""
    image: str = "dgm-sandbox:latest"
    memory_mb: int = 1024
    pids: int = 256
    cpus: float = 1.0
    outage_wait_minutes: float = 30.0
    """How long `dgm run` waits for a sandbox backend that stopped answering (a Docker
    restart) before it drains and stops; its interrupted children resume either way."""
    warm: int = -1
    """Sandboxes `dgm run` starts ahead of demand (Docker containers or bubblewrap sessions),
    while agents wait for the model, so a task's sandbox starts at once (-1: as many as
    sandboxes in flight; 0: none)."""


EXECUTOR_KINDS = ("local", "ray")


@dataclass
class ExecutorConfig:
    kind: str = "local"
    """Where sandboxes run: 'local' (this machine; jobs are threads in the daemon's process) or
    'ray' (every sandbox on a node of a Ray cluster that advertises 'dgm_sandbox' slots; the
    daemon, archive and gateway with its keys stay here)."""
    jobs_in_flight: int = 0
    """Jobs run at once, independent of the CPU count: sandboxed agents mostly wait for the
    model (0: loop.children_in_flight; with 'ray', enough to fill the cluster's slots)."""
    address: str = ""
    """With 'ray': "auto" (the cluster this machine belongs to), "ray://host:10001", or empty
    for a Ray instance started by 'dgm run' on this machine alone."""
    local_slots: int = 0
    """With 'ray' and no address: sandbox slots of the local instance (0: jobs_in_flight x eval.workers)."""


@dataclass
class SwebenchConfig:
    """Settings of `swebench:FILE` suites (the fields of evals.swebench.SweBenchOptions)."""

    image_template: str = "swebench/sweb.eval.x86_64.{id}:latest"
    """Environment image per instance; {id} is the id as swebench writes it in image names."""
    test_cmd: str = ""
    """Test command for repositories the swebench package does not know."""
    log_parser: str = ""
    """A swebench log parser for those (default parse_log_pytest)."""
    timeout: float = 1800.0
    """Seconds for the agent on one instance; wins over [eval] task_timeout for these tasks."""
    test_timeout: float = 1800.0
    memory_mb: int = 4096
    work_mb: int = 2048
    workers: int = 2
    """Instances graded in parallel."""


@dataclass
class StoreConfig:
    url: str = ""
    """Where the archive's tables live: empty for archive.db in the run folder (SQLite), or a
    PostgreSQL URL (postgresql://user@host/db, or ?host=/socket/dir). No password here: libpq
    reads it from PGPASSWORD or ~/.pgpass. The git repository and logs stay in the run folder."""


@dataclass
class RunConfig:
    name: str = "demo"
    seed: int = 0
    """Seeds parent selection; its RNG state is persisted so a resumed run chooses the same."""
    seed_agent: str = "coder"
    """Name of the seed agent under archive/seeds/."""
    model: ModelConfig = field(default_factory=ModelConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    swebench: SwebenchConfig = field(default_factory=SwebenchConfig)
    hgm: HgmConfig = field(default_factory=HgmConfig)
    store: StoreConfig = field(default_factory=StoreConfig)

    @property
    def jobs_in_flight(self) -> int:
        return self.executor.jobs_in_flight or self.loop.children_in_flight

    def suite_options(self) -> dict[str, dict[str, Any]]:
        """Options of the suites that take them, by suite base name (for evals.evaluate)."""
        return {"swebench": dataclasses.asdict(self.swebench)}

    def options_for(self, suite: str) -> dict[str, Any]:
        """The options of one suite of `eval.suites` ('swebench:FILE': the [swebench] table; {} for most)."""
        return self.suite_options().get(suite.partition(":")[0], {})

    def validate(self) -> "RunConfig":
        if self.loop.selection not in SELECTION_METHODS:
            raise ConfigError(
                f"loop.selection must be one of {', '.join(SELECTION_METHODS)}, not '{self.loop.selection}'"
            )
        if not 0.0 < self.hgm.alpha <= 1.0:
            raise ConfigError(f"hgm.alpha must be in (0, 1], not {self.hgm.alpha}")
        if self.loop.children_in_flight < 1:
            raise ConfigError("loop.children_in_flight must be at least 1")
        if not self.eval.stages or any(s.tasks < 1 for s in self.eval.stages):
            raise ConfigError("eval.stages needs at least one stage, each with tasks >= 1")
        if self.sandbox.backend not in ("auto", "docker", "bwrap"):
            raise ConfigError(f"sandbox.backend must be auto, docker or bwrap, not '{self.sandbox.backend}'")
        if self.sandbox.warm < -1:
            raise ConfigError("sandbox.warm must be -1 (as many as sandboxes in flight), 0 (none) or more")
        if self.executor.kind not in EXECUTOR_KINDS:
            raise ConfigError(f"executor.kind must be one of {', '.join(EXECUTOR_KINDS)}, not '{self.executor.kind}'")
        if self.model.scripted_latency < 0:
            raise ConfigError("model.scripted_latency must be 0 or more")
        if self.executor.local_slots < 0:
            raise ConfigError("executor.local_slots must be 0 or more")
        if self.executor.jobs_in_flight < 0:
            raise ConfigError("executor.jobs_in_flight must be 0 (loop.children_in_flight) or more")
        check_store_url(self.store.url)
        return self


def check_store_url(url: str) -> None:
    """Raises: ConfigError for a URL that is neither empty nor PostgreSQL's, or that holds a
    password (run.toml is plain text; libpq reads PGPASSWORD and ~/.pgpass)."""
    from dgm.archive.postgres import has_password, is_postgres_url

    if not url:
        return
    if not is_postgres_url(url):
        raise ConfigError(f"store.url must be empty (SQLite in the run folder) or a postgresql:// URL, not '{url.split(':', 1)[0]}:...'")
    if has_password(url):
        raise ConfigError("store.url holds a password: remove it and use PGPASSWORD or ~/.pgpass (run.toml is plain text)")


def _build(cls: type, data: Any, where: str) -> Any:
    """Build a dataclass from TOML data, refusing unknown keys and wrong types by name."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ConfigError(f"unknown key(s) in {where or 'config'}: {', '.join(sorted(unknown))}")
    values = {}
    for name, value in data.items():
        key = f"{where}.{name}" if where else name
        kind = str(fields[name].type)  # annotations are strings (from __future__ import annotations)
        if kind in ("ModelConfig", "LoopConfig", "EvalConfig", "BudgetConfig", "SandboxConfig", "ExecutorConfig", "SwebenchConfig", "HgmConfig", "StoreConfig"):
            values[name] = _build(globals()[kind], value, key)
        elif kind == "list[StageConfig]":
            if not isinstance(value, list):
                raise ConfigError(f"{key} must be a list of tables")
            values[name] = [_build(StageConfig, item, f"{key}[{i}]") for i, item in enumerate(value)]
        else:
            values[name] = _check_scalar(kind, value, key)
    return cls(**values)


def _check_scalar(kind: str, value: Any, key: str) -> Any:
    types: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float), "bool": bool, "list[str]": list}
    expected = types[kind]
    if isinstance(value, bool) and kind in ("int", "float"):
        raise ConfigError(f"{key} must be a number, not {value!r}")
    matches = isinstance(value, expected)  # kept apart: narrowing by a tuple of types loses `float`
    if not matches:
        raise ConfigError(f"{key} must be of type {kind}, not {value!r}")
    return float(value) if kind == "float" else value


def parse_config(text: str, source: str = "config") -> RunConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    return _build(RunConfig, data, "").validate()


def load_config(path: Path) -> RunConfig:
    """Raises: ConfigError when the file is missing, unreadable, empty, not text or invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text (UTF-8) TOML file") from None
    if not text.strip():
        raise ConfigError(f"{path} is empty: a config needs at least the defaults 'dgm init' writes")
    return parse_config(text, str(path))


def dump_config(config: RunConfig) -> str:
    """The config as TOML (scalars first, then one table per section)."""
    data = dataclasses.asdict(config)
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, table in data.items():
        if not isinstance(table, dict):
            continue
        lines += ["", f"[{section}]"]
        for key, value in table.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                items = ", ".join("{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in d.items()) + " }" for d in value)
                lines.append(f"{key} = [{items}]")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
