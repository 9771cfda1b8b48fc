"""SWE-bench instances as a suite: `--suite swebench:FILE` (format: evals/swebench_data.py).

Each instance runs in its own environment image (by default the public per-instance
evaluation image, named as the swebench package names it), prepared by the sandbox with our
runner injected: the agent finds the repository at /work and leaves its fix there; its
output is the diff. What is hidden from the agent: the test patch, the test lists and the
gold patch. Grading (evals/swebench_grade.py) runs in a fresh session of the same image.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from dgm.evals.agent_run import GIT_SAFE
from dgm.evals.base import PATCH_FILE, EvalError, Task, TaskEnvironment, Verdict
from dgm.evals.swebench_data import Instance, SweBenchFormatError, load_instances
from dgm.evals.swebench_grade import apply_script, decide, eval_script, filter_patch, patch_files, recorded_exit_code, status_map
from dgm.evals.regrade import check_not_lost, once_more_if_lost
from dgm.sandbox import Backend, ExecResult, Limits, MachineFault, SandboxError

DEFAULT_IMAGE_TEMPLATE = "swebench/sweb.eval.x86_64.{id}:latest"
"""{id} is the instance id as the swebench package writes it in image names (lower case,
'__' as '_1776_'); {instance_id} is the id as it is; {repo} and {version} are also known."""
SOURCE = "/testbed"
GRADE_DIR = "/tmp/dgm-grade"
LOG_BYTES = 16 << 20
"""Cap of the test log (the runner keeps the head: a flood loses the end marker and fails)."""
LOG_TAIL = 30_000
HINT = (
    "If /opt/miniconda3/envs/testbed exists, it is the repository's Python environment: run tests with "
    "`/opt/miniconda3/envs/testbed/bin/python -m pytest ...` (or the project's own test runner)."
)


@dataclass(frozen=True)
class SweBenchOptions:
    """The suite's settings (a run's `[swebench]` table, dgm.config.SwebenchConfig)."""

    image_template: str = DEFAULT_IMAGE_TEMPLATE
    """Environment image of an instance (an instance's own `image` field wins)."""
    test_cmd: str = ""
    """Test command for repositories the swebench package does not know (an instance's own wins)."""
    log_parser: str = ""
    """A swebench log parser for those (default parse_log_pytest)."""
    timeout: float = 1800.0
    """Wall-clock seconds for the agent on one instance (in a run, over `[eval] task_timeout`)."""
    test_timeout: float = 1800.0
    """Seconds for one instance's test run when grading."""
    memory_mb: int = 4096
    work_mb: int = 2048
    workers: int = 2
    """Instances graded in parallel."""


def image_name(template: str, instance: Instance) -> str:
    """Raises: SweBenchFormatError for a template with unknown fields."""
    if instance.image:
        return instance.image
    fields = {"id": instance.instance_id.lower().replace("__", "_1776_"), "instance_id": instance.instance_id,
              "repo": instance.repo, "version": instance.version}  # fmt: skip
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        known = ", ".join("{" + k + "}" for k in fields)
        raise SweBenchFormatError(f"image template {template!r} is not usable ({exc}); known fields: {known}") from None


def instruction(instance: Instance) -> str:
    return (
        f"# Resolve this issue in the repository at /work\n\n{instance.problem_statement.strip()}\n\n---\n"
        f"The repository {instance.repo} is checked out in /work at commit {instance.base_commit}. Change the code "
        "in /work so that the issue is resolved; your output is the diff of /work against that commit. Hidden tests "
        "decide: changes to test files (test_*.py, *_test.py, anything under a tests/ directory, the files the "
        "hidden tests live in) and to test configuration (conftest.py, setup.cfg, tox.ini, pytest.ini, "
        f"pyproject.toml) are discarded before grading. {HINT}\n"
    )


class SweBenchSuite:
    def __init__(self, path: Path, options: SweBenchOptions | None = None, **overrides: object) -> None:
        self.options = options or SweBenchOptions(**overrides)  # type: ignore[arg-type]
        path = Path(path)
        self.name = f"swebench-{path.stem}"
        self.instances = load_instances(path)
        env = {i.instance_id: self._environment(i) for i in self.instances}
        self._tasks = [
            Task(f"{self.name}/{i.instance_id}", self.name, instruction(i), {}, i, self.options.timeout, env[i.instance_id],
                 own_timeout=True)
            for i in self.instances
        ]

    def _environment(self, instance: Instance) -> TaskEnvironment:
        image = image_name(self.options.image_template, instance)
        return TaskEnvironment(image, SOURCE, self.options.memory_mb, self.options.work_mb)

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def grade(self, backend: Backend, items: Sequence[tuple[Task, Mapping[str, bytes]]]) -> list[Verdict]:
        with ThreadPoolExecutor(max(1, self.options.workers)) as pool:
            return list(pool.map(lambda item: self._grade_one(backend, *item), items))

    def _limits(self, task: Task) -> Limits:
        o, env = self.options, task.environment
        assert env is not None
        return Limits(wall_seconds=o.test_timeout + 900, exec_timeout=o.test_timeout, memory_mb=o.memory_mb, pids=1024,
                      cpus=2.0, output_bytes=LOG_BYTES, work_mb=o.work_mb, tmp_mb=512, image=env.image,
                      workspace_source=env.workspace_source)  # fmt: skip

    def _grade_one(self, backend: Backend, task: Task, output: Mapping[str, bytes]) -> Verdict:
        instance: Instance = task.hidden
        diff = output.get(PATCH_FILE, b"").decode("utf-8", "surrogateescape")  # bytes kept as they are
        filtered = filter_patch(diff, set(patch_files(instance.test_patch)))
        try:
            script = eval_script(instance, self.options.test_cmd, SOURCE)
        except EvalError as exc:
            return Verdict(task.id, False, "grader-error", str(exc))
        notes = [f"agent diff: {len(diff)} bytes"]
        if filtered.dropped:
            notes.append("left out of the diff (tests, hooks): " + ", ".join(filtered.dropped))

        def apply_and_test() -> tuple[ExecResult, ExecResult | None]:
            """The patch applied, then (when it applied) the tests run, in one fresh sandbox."""
            with backend.start(self._limits(task), [], {"purpose": "grade", "task": task.id[:60]}) as session:
                patch = filtered.patch.encode("utf-8", "surrogateescape")
                session.put_files(GRADE_DIR, {"agent.patch": patch, "eval.sh": script.encode()})
                applied = session.exec(["sh", "-c", apply_script(f"{GRADE_DIR}/agent.patch")], timeout=300, env=GIT_SAFE)
                check_not_lost(applied)
                if not applied.ok:
                    return applied, None
                # The log is the command's output stream as the runner relays it: code under test
                # can add lines to it, but not rewrite what was already sent (a file it could).
                run = session.exec(["bash", "-c", f"bash {GRADE_DIR}/eval.sh 2>&1"], timeout=self.options.test_timeout, env=GIT_SAFE)
            check_not_lost(run)
            return applied, run

        try:
            applied, tested = once_more_if_lost(task.id, apply_and_test)
            notes.append("apply: " + (applied.stdout + applied.stderr).decode("utf-8", "replace").strip()[-2_000:])
            if tested is None:
                return Verdict(task.id, False, "patch-failed", "\n".join(notes))
            run = tested
        except MachineFault:
            raise  # not the agent's doing: the stage runs again, never a failed verdict
        except SandboxError as exc:
            return Verdict(task.id, False, "grader-error", "\n".join(notes + [str(exc)]))
        if run.timed_out:
            return Verdict(task.id, False, "timeout", "\n".join(notes + ["the test run timed out"]))
        log = run.stdout.decode("utf-8", "replace")
        if run.stdout_truncated:
            notes.append(f"the test log passed {LOG_BYTES} bytes and was cut")
        with tempfile.TemporaryDirectory(prefix="dgm-swebench-") as tmp:
            log_path = Path(tmp) / "test.log"
            log_path.write_text(log, encoding="utf-8")
            try:
                statuses, ran = status_map(instance, log, str(log_path), self.options.log_parser)
            except EvalError as exc:
                return Verdict(task.id, False, "grader-error", "\n".join(notes + [str(exc)]))
        decision = decide(instance, statuses, ran, recorded_exit_code(log))
        notes += [decision.detail, "--- test log (tail) ---", log[-LOG_TAIL:]]
        return Verdict(task.id, decision.resolved, decision.reason, "\n".join(notes))

