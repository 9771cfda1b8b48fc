"""Task suites, graders and staged evaluation.

Public interface: the contract (Task, Verdict, Suite, LLMAccess, NoLLM, Stage, StagePlan,
errors), suites by name (`get_suite`, `suite_names`), one agent run (`run_agent`), and
staged evaluation (`evaluate` -> EvaluationReport). Suite modules load lazily.
"""

from dgm.evals.agent_run import AgentRun, run_agent
from dgm.evals.base import (
    PATCH_FILE,
    EvalCancelled,
    EvalError,
    LLMAccess,
    NoLLM,
    Stage,
    StagePlan,
    Suite,
    Task,
    TaskEnvironment,
    TaskFormatError,
    UnknownSuiteError,
    Verdict,
)
from dgm.evals.evaluate import GRADE_MARK, EvaluationReport, StageResult, TaskResult, evaluate, evaluate_tasks, stage_order
from dgm.evals.plan import parse_stage_plan
from dgm.evals.registry import get_suite, suite_names
from dgm.evals.reuse import dir_tree_hash, task_ids_key

__all__ = [
    "GRADE_MARK",
    "PATCH_FILE",
    "AgentRun",
    "EvalCancelled",
    "EvalError",
    "EvaluationReport",
    "LLMAccess",
    "NoLLM",
    "Stage",
    "StagePlan",
    "StageResult",
    "Suite",
    "Task",
    "TaskEnvironment",
    "TaskFormatError",
    "TaskResult",
    "UnknownSuiteError",
    "Verdict",
    "dir_tree_hash",
    "evaluate",
    "evaluate_tasks",
    "get_suite",
    "parse_stage_plan",
    "run_agent",
    "stage_order",
    "suite_names",
    "task_ids_key",
]
