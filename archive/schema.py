"""The archive's tables, defined once: names, allowed values and ordered migrations.

Standard library only, so the fast read path (`archive.reader`) and the SQLModel write path
(`archive.models`) share these names without the read path paying for sqlmodel's import.
A migration is applied once, in order, and recorded in `schema_migrations`; its SQL (DDL, and
the UPDATEs that fill new columns of existing rows) is frozen text, never derived from today's
models, so an old database migrates the same way as a new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AGENTS = "agents"
EVALUATIONS = "evaluations"
TASK_RESULTS = "task_results"
LLM_CALLS = "llm_calls"
JOBS = "jobs"
REVIEWS = "reviews"
EVENTS = "events"
STATE = "state"
MIGRATIONS_TABLE = "schema_migrations"

AGENT_STATUSES = ("pending", "evaluating", "evaluated", "invalid")
ORIGINS = ("seed", "self-modify", "import")
PURPOSES = ("diagnose", "self-modify", "solve")
"""What a model call is for, as a gateway grant names it (the sandbox's role)."""
STEPS = ("diagnose", "self-modify", "smoke", "solve", "grade")
"""The loop step a ledger row belongs to: a smoke test's calls are 'solve' calls of the smoke step."""
MAKING_STEPS = ("diagnose", "self-modify", "smoke")
"""The steps that make a child. Their calls are recorded under the parent (the child does not
exist yet) with the child's iteration, and they are the child's cost (see `archive.queries`)."""
OUTCOMES = ("ok", "error", "refused", "budget")
JOB_STATES = ("queued", "running", "done", "failed")
VERDICTS = ("approve", "reject", "note")

AGENT_REF_PREFIX = "refs/agents/"
AGENT_ID_PREFIX = "a"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    """SQL statements with `{pk}` standing for the dialect's auto-increment integer primary key."""


PK_BY_DIALECT = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "SERIAL PRIMARY KEY"}
REAL_BY_DIALECT = {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION"}
"""REAL means an 8-byte float (SQLite's REAL); PostgreSQL's REAL is 4 bytes, which would round
scores and costs, so the frozen text's REAL is spelt per dialect like `{pk}`."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial tables",
        (
            f"""CREATE TABLE {AGENTS} (
                id TEXT PRIMARY KEY,
                seq INTEGER NOT NULL UNIQUE,
                parent_id TEXT REFERENCES {AGENTS}(id),
                commit_sha TEXT NOT NULL,
                tree_hash TEXT NOT NULL,
                created_at TEXT NOT NULL,
                iteration INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL,
                status_reason TEXT,
                score REAL,
                origin TEXT NOT NULL,
                meta TEXT NOT NULL DEFAULT '{{}}')""",
            f"CREATE INDEX ix_agents_parent ON {AGENTS}(parent_id)",
            f"CREATE INDEX ix_agents_status ON {AGENTS}(status)",
            f"""CREATE TABLE {EVALUATIONS} (
                id {{pk}},
                agent_id TEXT NOT NULL REFERENCES {AGENTS}(id),
                suite TEXT NOT NULL,
                stage INTEGER NOT NULL,
                score REAL,
                n_tasks INTEGER NOT NULL,
                n_passed INTEGER,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                reused_from INTEGER REFERENCES {EVALUATIONS}(id),
                tree_hash TEXT NOT NULL,
                task_key TEXT)""",
            f"CREATE INDEX ix_evaluations_agent ON {EVALUATIONS}(agent_id)",
            f"CREATE INDEX ix_evaluations_reuse ON {EVALUATIONS}(tree_hash, suite, task_key)",
            f"""CREATE TABLE {TASK_RESULTS} (
                id {{pk}},
                evaluation_id INTEGER NOT NULL REFERENCES {EVALUATIONS}(id),
                task_id TEXT NOT NULL,
                passed INTEGER NOT NULL,
                duration REAL NOT NULL,
                exit_reason TEXT NOT NULL,
                log_path TEXT)""",
            f"CREATE INDEX ix_task_results_evaluation ON {TASK_RESULTS}(evaluation_id)",
            f"""CREATE TABLE {LLM_CALLS} (
                id {{pk}},
                run TEXT NOT NULL,
                agent_id TEXT,
                task_id TEXT,
                purpose TEXT NOT NULL,
                model TEXT NOT NULL,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL,
                cost_usd REAL NOT NULL,
                latency REAL NOT NULL,
                outcome TEXT NOT NULL,
                created_at TEXT NOT NULL)""",
            f"CREATE INDEX ix_llm_calls_agent ON {LLM_CALLS}(agent_id)",
            f"CREATE INDEX ix_llm_calls_task ON {LLM_CALLS}(task_id)",
            f"""CREATE TABLE {JOBS} (
                id {{pk}},
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                agent_id TEXT,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                created_at TEXT NOT NULL,
                started_at TEXT,
                finished_at TEXT)""",
            f"CREATE INDEX ix_jobs_state ON {JOBS}(state)",
            f"""CREATE TABLE {REVIEWS} (
                id {{pk}},
                agent_id TEXT NOT NULL REFERENCES {AGENTS}(id),
                verdict TEXT NOT NULL,
                note TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL)""",
            f"CREATE INDEX ix_reviews_agent ON {REVIEWS}(agent_id)",
            f"""CREATE TABLE {EVENTS} (
                id {{pk}},
                kind TEXT NOT NULL,
                message TEXT NOT NULL,
                agent_id TEXT,
                data TEXT,
                created_at TEXT NOT NULL)""",
            f"""CREATE TABLE {STATE} (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at TEXT NOT NULL)""",
        ),
    ),
    Migration(
        2,
        "ledger rows know their iteration and step",
        (
            f"ALTER TABLE {LLM_CALLS} ADD COLUMN iteration INTEGER",
            f"ALTER TABLE {LLM_CALLS} ADD COLUMN step TEXT",
            # Before this, the loop named its making calls '<step>/<iteration>' in task_id:
            # read them back once, here, and never again.
            f"""UPDATE {LLM_CALLS} SET step = 'diagnose', iteration = CAST(SUBSTR(task_id, 10) AS INTEGER)
                WHERE task_id LIKE 'diagnose/%'""",
            f"""UPDATE {LLM_CALLS} SET step = 'self-modify', iteration = CAST(SUBSTR(task_id, 13) AS INTEGER)
                WHERE task_id LIKE 'self-modify/%'""",
            f"""UPDATE {LLM_CALLS} SET step = 'smoke', iteration = CAST(SUBSTR(task_id, 7) AS INTEGER)
                WHERE task_id LIKE 'smoke/%'""",
            # Every other call under an agent was its own (its evaluation): the agent's iteration.
            f"""UPDATE {LLM_CALLS} SET step = purpose,
                iteration = (SELECT a.iteration FROM {AGENTS} a WHERE a.id = {LLM_CALLS}.agent_id)
                WHERE step IS NULL""",
            "DROP INDEX ix_llm_calls_agent",
            f"CREATE INDEX ix_llm_calls_agent_iteration ON {LLM_CALLS}(agent_id, iteration)",
        ),
    ),
    Migration(
        3,
        "line comments on reviews",
        (
            f"ALTER TABLE {REVIEWS} ADD COLUMN file TEXT",
            f"ALTER TABLE {REVIEWS} ADD COLUMN line INTEGER",
        ),
    ),
    Migration(
        4,
        "agents know how many tasks they were evaluated on and passed",
        (
            f"ALTER TABLE {AGENTS} ADD COLUMN tasks_done INTEGER NOT NULL DEFAULT 0",
            f"ALTER TABLE {AGENTS} ADD COLUMN tasks_passed INTEGER NOT NULL DEFAULT 0",
            # Counted as the archive counted them on every read before: distinct (suite, task)
            # over the agent's finished evaluations, passed if any verdict on it passed.
            f"""UPDATE {AGENTS} SET
                tasks_done = (SELECT COUNT(*) FROM (
                    SELECT e.suite, t.task_id FROM {EVALUATIONS} e JOIN {TASK_RESULTS} t ON t.evaluation_id = e.id
                    WHERE e.agent_id = {AGENTS}.id AND e.finished_at IS NOT NULL GROUP BY e.suite, t.task_id) done),
                tasks_passed = (SELECT COUNT(*) FROM (
                    SELECT e.suite, t.task_id FROM {EVALUATIONS} e JOIN {TASK_RESULTS} t ON t.evaluation_id = e.id
                    WHERE e.agent_id = {AGENTS}.id AND e.finished_at IS NOT NULL AND t.passed <> 0
                    GROUP BY e.suite, t.task_id) passed)""",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version

MIGRATIONS_DDL = f"""CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"""


def statements_for(migration: Migration, dialect: str) -> list[str]:
    """The migration's statements for one SQL dialect (sqlite or postgresql)."""
    pk = PK_BY_DIALECT.get(dialect, PK_BY_DIALECT["sqlite"])
    real = REAL_BY_DIALECT.get(dialect, "REAL")
    return [re.sub(r"\bREAL\b", real, statement.replace("{pk}", pk)) for statement in migration.statements]


def agent_id(seq: int) -> str:
    """Short, sequential, human-friendly ids: a1, a2, ... in insertion order."""
    return f"{AGENT_ID_PREFIX}{seq}"


def agent_ref(agent: str) -> str:
    return AGENT_REF_PREFIX + agent
