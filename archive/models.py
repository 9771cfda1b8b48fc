"""SQLModel mappings of the archive's tables, used by the store for its writes.

Table names come from `archive.schema`; the DDL lives in its migrations. A test checks that
these models and the migrated database have the same columns, so the two cannot drift.
Timestamps are ISO-8601 UTC text and JSON fields are text, so the sqlite3 reader sees
exactly what these models wrote.
"""

from __future__ import annotations

from typing import Optional

from sqlmodel import Field, SQLModel

from dgm.archive import schema


class Agent(SQLModel, table=True):
    __tablename__ = schema.AGENTS
    id: str = Field(primary_key=True)
    seq: int
    parent_id: Optional[str] = None
    commit_sha: str
    tree_hash: str
    created_at: str
    iteration: int = 0
    status: str
    status_reason: Optional[str] = None
    score: Optional[float] = None
    origin: str
    meta: str = "{}"
    tasks_done: int = 0
    tasks_passed: int = 0
    """Distinct tasks over the agent's finished evaluations, and passed among them: kept in
    step by the store in the transaction that finishes an evaluation (see `queries.RECOUNT`)."""


class Evaluation(SQLModel, table=True):
    __tablename__ = schema.EVALUATIONS
    id: Optional[int] = Field(default=None, primary_key=True)
    agent_id: str
    suite: str
    stage: int
    score: Optional[float] = None
    n_tasks: int
    n_passed: Optional[int] = None
    started_at: str
    finished_at: Optional[str] = None
    reused_from: Optional[int] = None
    tree_hash: str
    task_key: Optional[str] = None


class TaskResult(SQLModel, table=True):
    __tablename__ = schema.TASK_RESULTS
    id: Optional[int] = Field(default=None, primary_key=True)
    evaluation_id: int
    task_id: str
    passed: int
    """0 or 1: the frozen schema says INTEGER, and PostgreSQL refuses a boolean there."""
    duration: float
    exit_reason: str
    log_path: Optional[str] = None


class LLMCall(SQLModel, table=True):
    __tablename__ = schema.LLM_CALLS
    id: Optional[int] = Field(default=None, primary_key=True)
    run: str
    agent_id: Optional[str] = None
    task_id: Optional[str] = None
    purpose: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency: float
    outcome: str
    created_at: str
    iteration: Optional[int] = None
    step: Optional[str] = None


class JobRow(SQLModel, table=True):
    __tablename__ = schema.JOBS
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str
    payload: str
    agent_id: Optional[str] = None
    state: str
    attempts: int = 0
    error: Optional[str] = None
    created_at: str
    started_at: Optional[str] = None
    finished_at: Optional[str] = None


class Review(SQLModel, table=True):
    __tablename__ = schema.REVIEWS
    id: Optional[int] = Field(default=None, primary_key=True)
    agent_id: str
    verdict: str
    note: str = ""
    created_at: str
    file: Optional[str] = None
    line: Optional[int] = None


class Event(SQLModel, table=True):
    __tablename__ = schema.EVENTS
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str
    message: str
    agent_id: Optional[str] = None
    data: Optional[str] = None
    created_at: str


class StateEntry(SQLModel, table=True):
    __tablename__ = schema.STATE
    key: str = Field(primary_key=True)
    value: str
    updated_at: str


class SchemaMigration(SQLModel, table=True):
    __tablename__ = schema.MIGRATIONS_TABLE
    version: int = Field(primary_key=True)
    name: str
    applied_at: str
