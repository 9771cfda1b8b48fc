"""Task suites, graders and staged evaluation.

Public interface: the contract (Task, Verdict, Suite, LLMAccess, NoLLM, Stage, StagePlan,
errors), suites by name (`get_suite`, `suite_names`), one agent run (`run_agent`), and
staged evaluation (`evaluate` -> EvaluationReport). Suite modules load lazily.
"""

from dgm.evals.agent_run import AgentRun, run_agent
from dgm.evals.base import (
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
from dgm.evals.evaluate import GRADE_MARK, EvaluationReport, StageResult, TaskResult, evaluate
from dgm.evals.plan import parse_stage_plan
from dgm.evals.registry import get_suite, suite_names
from dgm.evals.reuse import EvalArchive, dir_tree_hash, task_ids_key

__all__ = [
    "GRADE_MARK",
    "AgentRun",
    "EvalArchive",
    "EvalError",
    "EvaluationReport",
    "LLMAccess",
    "NoLLM",
    "Stage",
    "StagePlan",
    "StageResult",
    "Suite",
    "Task",
    "TaskFormatError",
    "TaskResult",
    "UnknownSuiteError",
    "Verdict",
    "dir_tree_hash",
    "evaluate",
    "get_suite",
    "parse_stage_plan",
    "run_agent",
    "suite_names",
    "task_ids_key",
]
