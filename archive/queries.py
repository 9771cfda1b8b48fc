"""Every read of the archive, written once in plain SQL over the tables of `archive.schema`.

`Queries` is shared by the light sqlite3 `Reader` (what the CLI browses with) and the SQLModel
`Archive` (what the loop writes with); each supplies `_rows`, `_git_dir` and `_dialect`.
Parameters use `:name`, which both sqlite3 and SQLAlchemy's `text()` understand (the
PostgreSQL reader rewrites them for psycopg). The SQL is portable between SQLite and
PostgreSQL; the few pieces that cannot be are in `DIALECT_SQL`, and nowhere else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from dgm.archive import gitread
from dgm.archive.errors import ArchiveError, UnknownAgentError
from dgm.archive.records import (
    AgentRecord,
    AgentSummary,
    CountDrift,
    EvaluationRecord,
    EventRecord,
    FileChange,
    Job,
    LLMCallRecord,
    ParentCandidate,
    ReviewRecord,
    Spend,
    TaskCount,
    TaskResultRecord,
    VerifyReport,
)
from dgm.archive.schema import (
    AGENTS,
    EVALUATIONS,
    EVENTS,
    JOBS,
    LLM_CALLS,
    MAKING_STEPS,
    MIGRATIONS_TABLE,
    REVIEWS,
    STATE,
    TASK_RESULTS,
)

if TYPE_CHECKING:
    from dgm.archive.scores import SuiteScore
    from dgm.archive.stats import ScoreStat


SORT_ORDER = {
    "id": "a.seq DESC",
    "score": "a.score IS NULL, a.score DESC, a.seq ASC",
    "iteration": "a.iteration DESC, a.seq DESC",
    "children": "children DESC, a.seq ASC",
    "cost": "cost_usd DESC, a.seq ASC",
}
SORT_KEYS = tuple(SORT_ORDER)

DIALECT_SQL: dict[str, dict[str, str]] = {
    "sqlite": {
        "table_exists": "SELECT name FROM sqlite_master WHERE type = 'table' AND name = :t",
        "integrity": "PRAGMA quick_check",
    },
    "postgresql": {
        "table_exists": "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = :t",
    },
}
"""What differs between the two databases. A dialect without 'integrity' skips the check."""
INTEGRITY_SKIPPED = {
    "postgresql": "page check skipped: SQLite's quick_check has no PostgreSQL counterpart (the server guards its own pages)",
}


def child_calls(children: str) -> str:
    """What a child costs, the one rule, as SQL: the (agent_id, cost_usd, prompt_tokens,
    completion_tokens) of every call charged to each row of `children` (a table or subquery
    with id, parent_id and iteration).

    A child is charged its own calls (under its id, of its iteration or of none: its
    evaluation) and its making (the calls under its parent with its iteration in a making
    step: the child did not exist yet). A parent is never charged for its children. An id
    with no agent row (iteration NULL) is charged every call under it.
    """
    making = ", ".join(f"'{step}'" for step in MAKING_STEPS)
    return f"""
        SELECT c.id AS agent_id, l.cost_usd, l.prompt_tokens, l.completion_tokens
        FROM {children} c JOIN {LLM_CALLS} l
          ON l.agent_id = c.id AND (l.iteration IS NULL OR c.iteration IS NULL OR l.iteration = c.iteration)
        UNION ALL
        SELECT c.id AS agent_id, l.cost_usd, l.prompt_tokens, l.completion_tokens
        FROM {children} c JOIN {LLM_CALLS} l
          ON l.agent_id = c.parent_id AND l.iteration = c.iteration AND l.step IN ({making})"""


AGENT_COSTS = f"SELECT agent_id, SUM(cost_usd) AS usd FROM ({child_calls(AGENTS)}) charged GROUP BY agent_id"
"""USD per agent that has any cost, by `child_calls`."""
ONE_AGENT = f"""(SELECT :a AS id, (SELECT parent_id FROM {AGENTS} WHERE id = :a) AS parent_id,
                        (SELECT iteration FROM {AGENTS} WHERE id = :a) AS iteration)"""
UNBORN_CHILD = "(SELECT NULL AS id, :p AS parent_id, :i AS iteration)"
"""The child of :p at iteration :i while it is being made (it has no row yet)."""


def counted_tasks(where: str = "") -> str:
    """The rule a score rests on, as SQL: one row (agent_id, suite, task_id, passed 0/1) per
    distinct task over each agent's finished evaluations, passed if any verdict on it passed
    (a stage redone after a crash counts once). `where` narrows it ("AND e.agent_id = :a").
    Migration 4 froze a copy of this rule to fill agents.tasks_done/tasks_passed."""
    return f"""SELECT e.agent_id, e.suite, t.task_id, MAX(CASE WHEN t.passed <> 0 THEN 1 ELSE 0 END) AS passed
        FROM {EVALUATIONS} e JOIN {TASK_RESULTS} t ON t.evaluation_id = e.id
        WHERE e.finished_at IS NOT NULL {where} GROUP BY e.agent_id, e.suite, t.task_id"""


TASK_TALLY = f"SELECT agent_id, COUNT(*) AS tasks, SUM(passed) AS passed FROM ({counted_tasks()}) per_task GROUP BY agent_id"
"""Tasks and passed per agent with any, counted from task_results (what the columns must say)."""
RECOUNT = f"""UPDATE {AGENTS} SET
    tasks_done = (SELECT COUNT(*) FROM ({counted_tasks("AND e.agent_id = :a")}) per_task),
    tasks_passed = (SELECT COALESCE(SUM(passed), 0) FROM ({counted_tasks("AND e.agent_id = :a")}) per_task)
    WHERE id = :a"""
"""Bring one agent's (:a) task count columns in step with its task results."""
COUNT_DRIFT = f"""SELECT a.id, a.tasks_done, a.tasks_passed, COALESCE(c.tasks, 0) AS tasks, COALESCE(c.passed, 0) AS passed
    FROM {AGENTS} a LEFT JOIN ({TASK_TALLY}) c ON c.agent_id = a.id
    WHERE a.tasks_done <> COALESCE(c.tasks, 0) OR a.tasks_passed <> COALESCE(c.passed, 0) ORDER BY a.seq"""
SPEND = "SUM(cost_usd) AS usd, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, COUNT(*) AS calls"


class Queries:
    """Reads shared by the reader and the store; subclasses provide `_rows` and `_git_dir`."""

    _git_dir: Path
    _root: Path
    _dialect: str = "sqlite"

    def _rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        raise NotImplementedError

    def integrity_problems(self) -> list[str]:
        """SQLite's own quick check of every page and index: [] when the file is sound
        (and on PostgreSQL, which has no such check: see `integrity_skipped`).

        Raises: ArchiveCorruptError when the file is too damaged to check at all.
        """
        sql = DIALECT_SQL[self._dialect].get("integrity")
        if sql is None:
            return []
        messages = [str(row["quick_check"]) for row in self._rows(sql)]
        return [] if messages == ["ok"] else messages

    def integrity_skipped(self) -> str | None:
        """Why this database's page check is not run (None: it is)."""
        return INTEGRITY_SKIPPED.get(self._dialect)

    def schema_version(self) -> int:
        """The highest migration applied (0 for a database without the migrations table)."""
        found = self._rows(DIALECT_SQL[self._dialect]["table_exists"], {"t": MIGRATIONS_TABLE})
        if not found:
            return 0
        return int(self._rows(f"SELECT COALESCE(MAX(version), 0) AS v FROM {MIGRATIONS_TABLE}")[0]["v"])

    # Agents

    def get(self, agent_id: str) -> AgentRecord:
        """Raises: UnknownAgentError."""
        found = self._rows(f"SELECT * FROM {AGENTS} WHERE id = :id", {"id": agent_id})
        if not found:
            raise UnknownAgentError(f"no agent '{agent_id}' in {self._root}")
        return AgentRecord.from_row(found[0])

    def agents(self, status: str | None = None) -> list[AgentRecord]:
        """All agents in insertion order, optionally only those with one status."""
        where = "WHERE status = :status" if status else ""
        return [AgentRecord.from_row(r) for r in self._rows(f"SELECT * FROM {AGENTS} {where} ORDER BY seq", {"status": status})]

    def parent_candidates(self) -> list[ParentCandidate]:
        """Evaluated, scored agents with their children counts: what parent selection reads
        before every child, in one lean query."""
        rows = self._rows(
            f"""SELECT a.id, a.parent_id, a.score, COALESCE(c.n, 0) AS children
                FROM {AGENTS} a
                LEFT JOIN (SELECT parent_id, COUNT(*) AS n FROM {AGENTS} GROUP BY parent_id) c ON c.parent_id = a.id
                WHERE a.status = 'evaluated' AND a.score IS NOT NULL ORDER BY a.seq"""
        )
        return [ParentCandidate(r["id"], r["parent_id"], float(r["score"]), int(r["children"])) for r in rows]

    def children_counts(self) -> dict[str, int]:
        rows = self._rows(f"SELECT parent_id, COUNT(*) AS n FROM {AGENTS} WHERE parent_id IS NOT NULL GROUP BY parent_id")
        return {r["parent_id"]: r["n"] for r in rows}

    def costs(self) -> dict[str, float]:
        """USD per agent: its evaluation and, for a child, what making it cost (see `child_calls`)."""
        rows = self._rows(f"SELECT a.id, COALESCE(l.usd, 0.0) AS usd FROM {AGENTS} a LEFT JOIN ({AGENT_COSTS}) l ON l.agent_id = a.id")
        return {r["id"]: float(r["usd"]) for r in rows}

    def child_cost(self, agent_id: str) -> Spend:
        """What one agent cost, as `costs()` counts it: its own calls, plus its making."""
        return Spend.from_row(self._rows(f"SELECT {SPEND} FROM ({child_calls(ONE_AGENT)}) charged", {"a": agent_id})[0])

    def making_cost(self, parent_id: str, iteration: int) -> Spend:
        """What making the child of `parent_id` at `iteration` has cost so far (before it exists)."""
        rows = self._rows(f"SELECT {SPEND} FROM ({child_calls(UNBORN_CHILD)}) charged", {"p": parent_id, "i": iteration})
        return Spend.from_row(rows[0])

    def summaries(self, status: str | None = None, sort: str = "id", limit: int | None = None) -> list[AgentSummary]:
        """Agents with their children count and cost, sorted newest / highest first (agents
        without a score last) and limited in SQL: the rows of `dgm archive ls`.

        Raises: ValueError for a sort key not in SORT_KEYS.
        """
        if sort not in SORT_ORDER:
            raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}")
        rows = self._rows(
            f"""SELECT a.*, COALESCE(c.n, 0) AS children, COALESCE(l.usd, 0.0) AS cost_usd
                FROM {AGENTS} a
                LEFT JOIN (SELECT parent_id, COUNT(*) AS n FROM {AGENTS} GROUP BY parent_id) c ON c.parent_id = a.id
                LEFT JOIN ({AGENT_COSTS}) l ON l.agent_id = a.id
                {'WHERE a.status = :status' if status else ''}
                ORDER BY {SORT_ORDER[sort]} {'LIMIT :limit' if limit else ''}""",
            {"status": status, "limit": limit},
        )
        return [AgentSummary(AgentRecord.from_row(r), int(r["children"]), float(r["cost_usd"])) for r in rows]

    def count_agents(self, status: str | None = None) -> int:
        where = "WHERE status = :status" if status else ""
        return int(self._rows(f"SELECT COUNT(*) AS n FROM {AGENTS} {where}", {"status": status})[0]["n"])

    def best(self) -> AgentRecord | None:
        """The best evaluated agent by `archive.best`'s rule: among the agents evaluated on
        the most tasks any agent reached, the highest score (then more tasks, then earliest)."""
        from dgm.archive.best import Ranked, best_of

        rows = self._rows(f"SELECT id, score, seq, tasks_done FROM {AGENTS} WHERE status = 'evaluated' AND score IS NOT NULL")
        found = best_of([Ranked(r["id"], float(r["score"]), int(r["tasks_done"]), r["seq"]) for r in rows])
        return self.get(found.id) if found else None

    def score_stat(self, agent: AgentRecord) -> "ScoreStat":
        """The agent's score with the tasks it rests on and its 95% Wilson interval."""
        from dgm.archive.stats import score_stat

        count = self.task_count(agent.id)
        return score_stat(agent.score, count.passed, count.tasks)

    def lineage(self, agent_id: str) -> list[AgentRecord]:
        """The agent and its ancestors, root first."""
        chain = [self.get(agent_id)]
        while chain[-1].parent_id:
            chain.append(self.get(chain[-1].parent_id))
        return chain[::-1]

    # Git-backed reads

    def tree_hash(self, agent_id: str) -> str:
        """The git tree sha of the agent's code: equal trees, equal content."""
        return self.get(agent_id).tree_hash

    def read_tree(self, agent_id: str) -> dict[str, bytes]:
        """Raises: UnknownAgentError, ArchiveConsistencyError (commit missing from git)."""
        agent = self.get(agent_id)
        gitread.require_commit(self._git_dir, agent.commit, agent.id)
        return gitread.read_tree(self._git_dir, agent.commit)

    def export(self, agent_id: str, dest: Path) -> None:
        """Check the agent's code out to `dest` (absent or empty).

        Raises: UnknownAgentError, ArchiveConsistencyError, ArchiveError (dest not empty).
        """
        agent = self.get(agent_id)
        gitread.require_commit(self._git_dir, agent.commit, agent.id)
        gitread.export(self._git_dir, agent.commit, dest)

    def _diff_ends(self, a: str, b: str | None) -> tuple[AgentRecord | None, AgentRecord]:
        first = self.get(a)
        if b is None:
            return self.get(first.parent_id) if first.parent_id else None, first
        return first, self.get(b)

    def _git_between(self, read: Any, a: str, b: str | None) -> Any:
        """Run a git read between two agents; when git fails, name the agent whose commit is
        missing (ArchiveConsistencyError) rather than git's own words."""
        ends = self._diff_ends(a, b)
        try:
            return read(self._git_dir, ends[0].commit if ends[0] else None, ends[1].commit)
        except ArchiveError:
            for agent in filter(None, ends):
                gitread.require_commit(self._git_dir, agent.commit, agent.id)
            raise

    def diff(self, a: str, b: str | None = None) -> str:
        """Unified diff from A's parent to A (b None; a seed diffs against nothing), or from A to B.

        Raises: UnknownAgentError; ArchiveConsistencyError when a commit is missing from git.
        """
        return self._git_between(gitread.diff_text, a, b)

    def changed_files(self, a: str, b: str | None = None) -> list[FileChange]:
        return self._git_between(gitread.changed_files, a, b)

    # Evaluations

    def evaluations(self, agent_id: str) -> list[EvaluationRecord]:
        rows = self._rows(f"SELECT * FROM {EVALUATIONS} WHERE agent_id = :a ORDER BY id", {"a": agent_id})
        return [EvaluationRecord.from_row(r) for r in rows]

    @property
    def git_dir(self) -> Path:
        """The run's bare agents.git (for tools such as `git difftool` on two agents' commits)."""
        return Path(self._git_dir)

    def evaluation_owners(self, evaluation_ids: list[int]) -> dict[int, str]:
        """Evaluation id -> the agent it evaluated (to name where a reused result came from)."""
        if not evaluation_ids:
            return {}
        marks = ", ".join(f":e{i}" for i in range(len(evaluation_ids)))
        rows = self._rows(f"SELECT id, agent_id FROM {EVALUATIONS} WHERE id IN ({marks})", {f"e{i}": e for i, e in enumerate(evaluation_ids)})
        return {int(r["id"]): str(r["agent_id"]) for r in rows}

    def task_results(self, evaluation_id: int) -> list[TaskResultRecord]:
        rows = self._rows(f"SELECT * FROM {TASK_RESULTS} WHERE evaluation_id = :e ORDER BY id", {"e": evaluation_id})
        return [TaskResultRecord.from_row(r) for r in rows]

    def task_counts(self) -> dict[str, TaskCount]:
        """Per agent evaluated on any task: distinct tasks it was evaluated on and how many it
        passed, over all its finished evaluations (a stage redone after a crash counts once).
        What a score rests on; read from the agents' columns, which the store keeps in step
        with task_results (`counted_tasks` is the rule, `task_count_drift` the check)."""
        rows = self._rows(f"SELECT id, tasks_done, tasks_passed FROM {AGENTS} WHERE tasks_done > 0")
        return {r["id"]: TaskCount(int(r["tasks_passed"]), int(r["tasks_done"])) for r in rows}

    def task_count(self, agent_id: str) -> TaskCount:
        """One agent's `task_counts` entry ((0, 0) when it has none, or no row)."""
        rows = self._rows(f"SELECT tasks_done, tasks_passed FROM {AGENTS} WHERE id = :a", {"a": agent_id})
        return TaskCount(int(rows[0]["tasks_passed"]), int(rows[0]["tasks_done"])) if rows else TaskCount(0, 0)

    def task_count_drift(self) -> list[CountDrift]:
        """Agents whose task count columns disagree with their task results (for `verify`);
        reads every task result, so it is as slow as counting them on every read used to be."""
        return [
            CountDrift(str(r["id"]), TaskCount(int(r["tasks_passed"]), int(r["tasks_done"])), TaskCount(int(r["passed"]), int(r["tasks"])))
            for r in self._rows(COUNT_DRIFT)
        ]

    def suite_scores(self, agent_ids: Sequence[str]) -> dict[str, list["SuiteScore"]]:
        """Per agent, its score per suite and per polyglot language (`archive.scores.breakdown`)
        over its finished evaluations; agents with none are left out. One query for all."""
        from dgm.archive.scores import TaskVerdict, breakdown

        if not agent_ids:
            return {}
        marks = ", ".join(f":a{i}" for i in range(len(agent_ids)))
        rows = self._rows(
            f"""SELECT e.agent_id, e.suite, t.task_id, MAX(t.passed) AS passed, MIN(e.id) AS first_eval
                FROM {EVALUATIONS} e JOIN {TASK_RESULTS} t ON t.evaluation_id = e.id
                WHERE e.finished_at IS NOT NULL AND e.agent_id IN ({marks})
                GROUP BY e.agent_id, e.suite, t.task_id ORDER BY first_eval, t.task_id""",
            {f"a{i}": a for i, a in enumerate(agent_ids)},
        )
        verdicts: dict[str, list[TaskVerdict]] = {}
        for r in rows:
            verdicts.setdefault(str(r["agent_id"]), []).append(TaskVerdict(str(r["suite"]), str(r["task_id"]), bool(r["passed"])))
        return {agent: breakdown(found) for agent, found in verdicts.items()}

    def find_evaluation_by_tree(self, tree_hash: str, suite: str, task_ids_key: str) -> EvaluationRecord | None:
        """A finished evaluation of an identical tree on the same suite and task set (the key
        is the caller's: evals computes it), preferring an original over a reuse, then the latest."""
        rows = self._rows(
            f"""SELECT * FROM {EVALUATIONS}
                WHERE tree_hash = :t AND suite = :s AND task_key = :k AND finished_at IS NOT NULL
                ORDER BY reused_from IS NOT NULL, id DESC LIMIT 1""",
            {"t": tree_hash, "s": suite, "k": task_ids_key},
        )
        return EvaluationRecord.from_row(rows[0]) if rows else None

    # Ledger, jobs, reviews, events, state

    def spend(self, agent_id: str | None = None, task_id: str | None = None) -> Spend:
        """Total LLM spend, optionally for one agent and/or one task."""
        where = " AND ".join(
            clause for clause, value in (("agent_id = :a", agent_id), ("task_id = :t", task_id)) if value is not None
        )
        rows = self._rows(f"SELECT {SPEND} FROM {LLM_CALLS} {'WHERE ' + where if where else ''}", {"a": agent_id, "t": task_id})
        return Spend.from_row(rows[0])

    def llm_calls(self, agent_id: str | None = None, purpose: str | None = None) -> list[LLMCallRecord]:
        """The ledger, oldest first, optionally for one agent and/or one purpose."""
        where = " AND ".join(
            clause for clause, value in (("agent_id = :a", agent_id), ("purpose = :p", purpose)) if value is not None
        )
        rows = self._rows(
            f"SELECT * FROM {LLM_CALLS} {'WHERE ' + where if where else ''} ORDER BY created_at, id",
            {"a": agent_id, "p": purpose},
        )
        return [LLMCallRecord.from_row(r) for r in rows]

    def jobs(self, state: str | None = None) -> list[Job]:
        where = "WHERE state = :s" if state else ""
        return [Job.from_row(r) for r in self._rows(f"SELECT * FROM {JOBS} {where} ORDER BY id", {"s": state})]

    def reviews(self, agent_id: str | None = None) -> list[ReviewRecord]:
        where = "WHERE agent_id = :a" if agent_id else ""
        return [ReviewRecord.from_row(r) for r in self._rows(f"SELECT * FROM {REVIEWS} {where} ORDER BY id", {"a": agent_id})]

    def events(self, limit: int = 50, since_id: int | None = None) -> list[EventRecord]:
        """Oldest first. Without `since_id`: the latest `limit` events; with it: the first
        `limit` events after it, so a follower that passes the last id it saw misses none."""
        if since_id is None:
            sql = f"SELECT * FROM (SELECT * FROM {EVENTS} ORDER BY id DESC LIMIT :n) latest ORDER BY id"
        else:
            sql = f"SELECT * FROM {EVENTS} WHERE id > :since ORDER BY id LIMIT :n"
        return [EventRecord.from_row(r) for r in self._rows(sql, {"n": limit, "since": since_id})]

    def get_state(self, key: str, default: Any = None) -> Any:
        rows = self._rows(f"SELECT value FROM {STATE} WHERE key = :k", {"k": key})
        return json.loads(rows[0]["value"]) if rows else default

    def verify(self, repair: bool = False) -> "VerifyReport":
        """Check the database against git both ways and the task count columns against the
        task results (see `archive.verify`); from a reader, `repair` only re-creates missing
        refs of existing commits (git), the store also recounts task counts."""
        from dgm.archive.verify import verify

        return verify(self, self._git_dir, repair=repair, recount=self._count_repair())

    def _count_repair(self) -> Callable[[list[str]], object] | None:
        """What recounts agents' task counts: nothing from a reader (it never writes)."""
        return None

    def logs_dir(self, agent_id: str) -> Path:
        """Where the agent's transcripts and task logs go (not created here).

        Raises: UnknownAgentError for an id that could not be an agent's.
        """
        from dgm.archive.layout import RunLayout

        return RunLayout(self._root).agent_logs(agent_id)
