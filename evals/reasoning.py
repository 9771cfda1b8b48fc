"""The reasoning suite: procedurally generated tasks from `reasoning-gym`.

Default families (fixed seed and size, so the suite is the same everywhere):
basic_arithmetic, gcd, letter_counting, caesar_cipher, word_sorting. Their verifiers
compare text and numbers and need no network or data download. The agent writes its answer
to /work/answer.txt; it passes when the family's own `score_answer` gives 1.0.

Answers are untrusted text and some verifiers evaluate them (sympy's parse_expr, eval), so
scoring runs in a grading sandbox, never on the host. The image has only the standard
library: the host's site-packages directory that holds reasoning_gym (Python 3.11, like the
image's) is mounted read-only at /task of the grading session and put on the verifier's sys.path (no .pth
processing). Compiled dependencies are manylinux wheels built for the same glibc family.
Families whose verifier evaluates the answer can be chosen, but there a crafted answer runs
code in its own verifier process and could fake its own score (never another task's):
the default set avoids them.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from dgm.evals.base import EvalError, Task, Verdict
from dgm.evals.grading import GradeJob, GradingSetup, grade_jobs
from dgm.sandbox import Backend, Mount

DEFAULT_FAMILIES = ("basic_arithmetic", "gcd", "letter_counting", "caesar_cipher", "word_sorting")
DEFAULT_SIZE = 10
DEFAULT_SEED = 42
SITE_IN_SANDBOX = "/task"
"""An existing mount point of every image (bubblewrap cannot create one on a read-only root);
grading sessions have no task mount of their own."""
VERIFY_TIMEOUT = 20.0
MAX_ANSWER = 64_000

INSTRUCTION = """\
{question}

Write only your final answer (no explanation) to the file `answer.txt` in your workspace.
"""


@dataclass(frozen=True)
class ReasoningItem:
    family: str
    config: Mapping[str, Any]
    entry: Mapping[str, Any]
    module: str
    """The module defining the family's dataset and config classes (imported alone in the
    grading sandbox: the package imports every family and takes seconds)."""
    dataset_class: str
    config_class: str


def site_packages() -> Path:
    """The host directory that holds the reasoning_gym package.

    Raises: EvalError when reasoning-gym is not installed.
    """
    spec = importlib.util.find_spec("reasoning_gym")
    if spec is None or spec.origin is None:
        raise EvalError("the reasoning suite needs the reasoning-gym package (pip install reasoning-gym)")
    return Path(spec.origin).resolve().parent.parent


def _plain(entry: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({k: entry[k] for k in ("question", "answer", "metadata")}, default=str))


class ReasoningSuite:
    name = "reasoning"

    def __init__(self, families: Sequence[str] = DEFAULT_FAMILIES, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> None:
        self.families, self.size, self.seed = tuple(families), int(size), int(seed)
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            self._tasks = self._generate()
        return list(self._tasks)

    def _generate(self) -> list[Task]:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import reasoning_gym
            from reasoning_gym.factory import DATASETS
        tasks = []
        for family in self.families:
            config = {"size": self.size, "seed": self.seed}
            try:
                dataset = reasoning_gym.create_dataset(family, **config)
            except (ValueError, KeyError) as exc:
                raise EvalError(f"reasoning-gym has no usable family '{family}': {exc}") from None
            dataset_cls, config_cls = DATASETS[family]
            for i in range(self.size):
                entry = _plain(dataset[i])
                tasks.append(Task(
                    id=f"reasoning/{family}-{i}", suite=self.name,
                    instruction=INSTRUCTION.format(question=entry["question"]),
                    workspace={}, hidden=ReasoningItem(family, config, entry, dataset_cls.__module__, dataset_cls.__name__, config_cls.__name__),
                    timeout=120.0,
                ))
        return tasks

    def grade(self, backend: Backend, items: Sequence[tuple[Task, Mapping[str, bytes]]]) -> list[Verdict]:
        jobs: list[GradeJob] = []
        out: list[Verdict | None] = []
        for task, files in items:
            data = files.get("answer.txt")
            if data is None or len(data) > MAX_ANSWER:
                out.append(Verdict(task.id, False, "no-output", "answer.txt missing or too large"))
                continue
            out.append(None)
            item: ReasoningItem = task.hidden
            jobs.append(GradeJob(
                task_id=task.id, mode="reasoning", child="rg_child.py", timeout=VERIFY_TIMEOUT,
                fields={"site": [SITE_IN_SANDBOX], "module": item.module, "dataset_class": item.dataset_class,
                        "config_class": item.config_class, "config": dict(item.config),
                        "entry": dict(item.entry), "answer": data.decode("utf-8", "replace").strip(), "threshold": 1.0},
            ))
        setup = GradingSetup(mounts=[Mount(site_packages(), SITE_IN_SANDBOX)])
        graded = iter(grade_jobs(backend, jobs, setup))
        return [v if v is not None else next(graded) for v in out]
