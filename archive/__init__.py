"""The run store: agents in git (agents.git), everything else in SQLite (archive.db).

Public interface:
- `Archive` (create/open; agents, evaluations, ledger, jobs, reviews, events, state, verify),
  the write path, on SQLModel and GitPython;
- `Reader`, the read-only path on sqlite3 and the git command line, for fast browsing;
- the records (`AgentRecord`, ...), `best_of` (the one rule of 'best', in `archive.best`), and the errors of
  `archive.errors`.

Names are loaded on first use (PEP 562), so `import archive.reader` or `archive.errors`
never pays for sqlmodel's import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dgm.archive.errors import (
    ArchiveConsistencyError,
    ArchiveCorruptError,
    ArchiveError,
    ArchiveLockedError,
    InvalidTreeError,
    MissingGitRepoError,
    NotARunError,
    PatchApplyError,
    ReadOnlyArchiveError,
    RunFileError,
    SchemaTooNewError,
    SchemaTooOldError,
    UnknownAgentError,
)

_LAZY = {
    "Archive": "dgm.archive.store",
    "Reader": "dgm.archive.reader",
    "best_of": "dgm.archive.best",
    "Ranked": "dgm.archive.best",
    "AgentRecord": "dgm.archive.records",
    "AgentSummary": "dgm.archive.records",
    "EvaluationRecord": "dgm.archive.records",
    "TaskResultRecord": "dgm.archive.records",
    "EventRecord": "dgm.archive.records",
    "ReviewRecord": "dgm.archive.records",
    "FileChange": "dgm.archive.records",
    "Issue": "dgm.archive.records",
    "Job": "dgm.archive.records",
    "LLMCallRecord": "dgm.archive.records",
    "ParentCandidate": "dgm.archive.records",
    "Spend": "dgm.archive.records",
    "TaskCount": "dgm.archive.records",
    "CountDrift": "dgm.archive.records",
    "NewTaskResult": "dgm.archive.records",
    "VerifyReport": "dgm.archive.records",
    "SCHEMA_VERSION": "dgm.archive.schema",
    "export_run": "dgm.archive.portable",
    "import_run": "dgm.archive.portable",
}

__all__ = sorted([*_LAZY, *(name for name in dir() if name.endswith("Error"))])

if TYPE_CHECKING:
    from dgm.archive.best import Ranked, best_of
    from dgm.archive.reader import Reader
    from dgm.archive.records import (
        AgentRecord,
        AgentSummary,
        CountDrift,
        EvaluationRecord,
        EventRecord,
        FileChange,
        Issue,
        Job,
        LLMCallRecord,
        NewTaskResult,
        ParentCandidate,
        ReviewRecord,
        Spend,
        TaskCount,
        TaskResultRecord,
        VerifyReport,
    )
    from dgm.archive.schema import SCHEMA_VERSION
    from dgm.archive.store import Archive


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dgm.archive' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
