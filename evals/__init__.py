"""Task suites, graders and staged evaluation."""

from evals.base import (
    EvalError,
    LLMAccess,
    NoLLM,
    Stage,
    StagePlan,
    Suite,
    Task,
    TaskFormatError,
    UnknownSuiteError,
    Verdict,
)

__all__ = [
    "EvalError",
    "LLMAccess",
    "NoLLM",
    "Stage",
    "StagePlan",
    "Suite",
    "Task",
    "TaskFormatError",
    "UnknownSuiteError",
    "Verdict",
]
