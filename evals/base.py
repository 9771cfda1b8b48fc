"""The evals contract: a task is an instruction plus a workspace; a suite grades outputs.

Hidden material (tests, reference answers) lives in `Task.hidden` and never enters the
agent's sandbox: only a grading sandbox sees it, and the verdict is decided on the host.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, ContextManager, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from dgm.sandbox import Backend, Mount


class EvalError(Exception):
    """Base of the expected evaluation failures."""


class EvalCancelled(EvalError):
    """The caller stopped the evaluation (a signal): `report` holds the graded results of the
    stages that finished; `abandoned` the ids of the tasks that were running or queued in
    the stage that was cut short (their agent runs, if any, were never graded)."""

    def __init__(self, report: object, abandoned: list[str]) -> None:
        self.report = report
        self.abandoned = abandoned
        super().__init__(f"evaluation stopped: {len(abandoned)} task(s) abandoned")


class UnknownSuiteError(EvalError):
    """A suite name that no registered suite answers to."""


class TaskFormatError(EvalError):
    """A custom task folder that does not follow the documented format."""


@dataclass(frozen=True)
class TaskEnvironment:
    """A task that runs in its own image (a benchmark's per-instance environment) instead of
    the sandbox image. The agent's workspace is the image's `workspace_source`, copied to
    /work; its output is the git diff of /work against that pristine copy (PATCH_FILE)."""

    image: str
    workspace_source: str = "/testbed"
    memory_mb: int = 4096
    """At least this much memory (the workspace's tmpfs counts against it)."""
    work_mb: int = 2048
    """At least this much room in /work."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment of the agent's process."""


PATCH_FILE = "agent.patch"
"""The one output file of a task with an environment: the agent's diff."""


@dataclass(frozen=True)
class Task:
    id: str
    """Stable across machines, e.g. 'humaneval/HumanEval-12'."""
    suite: str
    instruction: str
    workspace: Mapping[str, bytes]
    """Files put in /work before the agent runs (relative path -> content)."""
    hidden: Any = None
    """Grader-only material. Never given to the agent's sandbox."""
    timeout: float = 300.0
    """Wall-clock limit for the agent on this task."""
    environment: TaskEnvironment | None = None
    """Set when the task runs in its own image; `workspace` is then put on top of its copy."""
    own_timeout: bool = False
    """True when `timeout` is the suite's own setting (a run's `[swebench] timeout`): it then
    wins over a run-wide task timeout (`evaluate(limits=...)`, a run's `[eval] task_timeout`)."""


@dataclass(frozen=True)
class Verdict:
    task_id: str
    passed: bool
    reason: str = ""
    """Short: 'ok', 'failed', 'timeout', 'crash', 'no-output', ..."""
    log: str = ""


@runtime_checkable
class Suite(Protocol):
    name: str

    def tasks(self) -> list[Task]:
        """All tasks, in a stable order."""
        ...

    def grade(
        self, backend: Backend, items: Sequence[tuple[Task, Mapping[str, bytes]]]
    ) -> list[Verdict]:
        """Grade agent outputs (task, files left in /work) in fresh sandboxes; one verdict each,
        in order. Never trusts anything the candidate prints about itself."""
        ...


class LLMAccess(Protocol):
    """What the sandbox needs to reach the LLM gateway for one agent run."""

    def grant(self, *, agent_id: str | None, task_id: str | None, purpose: str) -> ContextManager[list[Mount]]:
        """Mounts that expose the gateway socket and a fresh per-sandbox token at /run/llm;
        the token is revoked when the context exits."""
        ...


class NoLLM:
    """LLM access for runs without a gateway: nothing is mounted."""

    @contextlib.contextmanager
    def grant(self, *, agent_id: str | None, task_id: str | None, purpose: str) -> Iterator[list[Mount]]:
        yield []


@dataclass(frozen=True)
class Stage:
    tasks: int
    """How many tasks this stage adds (cumulative subsets are fixed by seed)."""
    min_score_to_continue: float = 0.0
    """The next stage runs only if the score so far is at least this."""


@dataclass(frozen=True)
class StagePlan:
    stages: tuple[Stage, ...] = field(default_factory=lambda: (Stage(10, 0.4), Stage(50)))
    seed: int = 0
