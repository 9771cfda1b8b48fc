"""The run store: agents in git (agents.git), everything else in SQLite (archive.db).

Public interface:
- `Archive` (create/open; agents, evaluations, ledger, jobs, reviews, events, state, verify),
  the write path, on SQLModel and GitPython;
- `Reader`, the read-only path on sqlite3 and the git command line, for fast browsing;
- the records (`AgentRecord`, ...), `task_key`, and the errors of `archive.errors`.

Names are loaded on first use (PEP 562), so `import archive.reader` or `archive.errors`
never pays for sqlmodel's import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from archive.errors import (
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
    "Archive": "archive.store",
    "Reader": "archive.reader",
    "task_key": "archive.queries",
    "AgentRecord": "archive.records",
    "AgentSummary": "archive.records",
    "EvaluationRecord": "archive.records",
    "TaskResultRecord": "archive.records",
    "EventRecord": "archive.records",
    "ReviewRecord": "archive.records",
    "FileChange": "archive.records",
    "Issue": "archive.records",
    "Job": "archive.records",
    "LLMCallRecord": "archive.records",
    "ParentCandidate": "archive.records",
    "Spend": "archive.records",
    "TaskCount": "archive.records",
    "VerifyReport": "archive.records",
    "SCHEMA_VERSION": "archive.schema",
    "export_run": "archive.portable",
    "import_run": "archive.portable",
}

__all__ = sorted([*_LAZY, *(name for name in dir() if name.endswith("Error"))])

if TYPE_CHECKING:
    from archive.queries import task_key
    from archive.reader import Reader
    from archive.records import (
        AgentRecord,
        AgentSummary,
        EvaluationRecord,
        EventRecord,
        FileChange,
        Issue,
        Job,
        LLMCallRecord,
        ParentCandidate,
        ReviewRecord,
        Spend,
        TaskCount,
        TaskResultRecord,
        VerifyReport,
    )
    from archive.schema import SCHEMA_VERSION
    from archive.store import Archive


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archive' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
