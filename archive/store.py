"""The run store: agents as git commits in agents.git, everything else in SQLite (archive.db)
or PostgreSQL (run.toml's `[store] url`) via SQLModel.

Writes are serialised by one lock per process and one `BEGIN IMMEDIATE` transaction per call
(so writers in other processes queue on SQLite's lock, never interleave); readers in other
processes keep reading through WAL. On PostgreSQL, readers never wait (MVCC), job claims skip
rows another claim holds, and agent inserts take an advisory lock (one seq, one id each).
An agent's commit and ref are written inside the transaction before its row, so no committed
row ever names a missing commit; a crash in between leaves at most an orphan that `verify`
lists, and the next agent reuses the id.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

from sqlalchemy import create_engine, event, func, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, select, update

from dgm.archive import gitread, postgres, sqlite
from dgm.archive.errors import (
    ArchiveCorruptError,
    ArchiveError,
    InvalidTreeError,
    PatchApplyError,
    ReadOnlyArchiveError,
    SchemaTooNewError,
)
from dgm.archive.gitwrite import EXECUTABLE, FILE, GitWriter, init_bare
from dgm.archive.layout import RunLayout
from dgm.archive.models import Agent, Evaluation, Event, JobRow, LLMCall, Review, SchemaMigration, StateEntry, TaskResult
from dgm.archive.queries import RECOUNT, Queries
from dgm.archive.reader import check_schema
from dgm.archive.records import AgentRecord, Job, NewTaskResult, VerifyReport
from dgm.archive.schema import (
    AGENT_STATUSES,
    MIGRATIONS,
    MIGRATIONS_DDL,
    MIGRATIONS_TABLE,
    ORIGINS,
    OUTCOMES,
    PURPOSES,
    SCHEMA_VERSION,
    STEPS,
    VERDICTS,
    agent_id,
    agent_ref,
    statements_for,
)

T = TypeVar("T")
AUTO_PACK_EVERY = 500
"""Agents between two `git gc --auto` calls: loose objects cost a disk block each (~22 KiB
per agent measured), packed ones about 1 KiB."""
ADD_AGENT_LOCK = 0x64676D01
"""PostgreSQL advisory lock key taken by each agent insert, so two writers never pick one seq."""
SKIPPED_NAMES = {".git", "__pycache__", ".pytest_cache", ".mypy_cache"}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")


def read_dir(src: Path) -> dict[str, tuple[str, bytes]]:
    """path -> (mode, content) of a folder's files, skipping caches and .git.

    Raises: InvalidTreeError for a link or special file, ArchiveError for a missing folder.
    """
    if not src.is_dir():
        raise ArchiveError(f"{src} is not a folder")
    files: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_NAMES)
        for name in filenames:
            path = Path(dirpath) / name
            if name.endswith(".pyc"):
                continue
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                raise InvalidTreeError(f"{path} is a link or special file; agent trees hold regular files only")
            mode = EXECUTABLE if info.st_mode & 0o111 else FILE
            files[path.relative_to(src).as_posix()] = (mode, path.read_bytes())
    return files


class Archive(Queries):
    """A run's archive, for reading and writing. Thread-safe; use `create` or `open`."""

    def __init__(self, layout: RunLayout, engine: Any, readonly: bool, url: str | None = None):
        self._root = layout.root
        self._layout = layout
        self._git_dir = layout.git
        self._engine = engine
        self._dialect = engine.dialect.name
        self._driver: Any = sqlite if self._dialect == "sqlite" else postgres
        self._where: Path | str = layout.db if url is None else postgres.redact(url)
        self._write_engine = engine.execution_options(dgm_write=True)
        self._readonly = readonly
        self._lock = threading.RLock()
        self._git: GitWriter | None = None

    # Opening

    @classmethod
    def create(cls, run_dir: Path, url: str | None = None) -> "Archive":
        """Create archive.db (or the tables at `url`, by default run.toml's `[store] url`),
        agents.git and logs/ in a run folder.

        Raises: NotARunError (no run.toml), ArchiveError (an archive is already there, or the
        database server cannot be reached).
        """
        layout = RunLayout(Path(run_dir))
        layout.check_run()
        url = url or layout.store_url()
        for existing in (layout.db, layout.git):
            if existing.exists() and (url is None or existing == layout.git):
                raise ArchiveError(f"{existing} already exists; {layout.root} already holds an archive")
        store = cls(layout, make_engine(layout, url, readonly=False, create=True), readonly=False, url=url)
        try:
            if url is not None and store.schema_version() > 0:
                raise ArchiveError(f"{store._where} already holds an archive; give each run its own database")
            layout.logs.mkdir(exist_ok=True)
            init_bare(layout.git)
            store._migrate()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open(cls, run_dir: Path, readonly: bool = False, url: str | None = None) -> "Archive":
        """Open an existing run's archive (archive.db, or `url`, by default run.toml's
        `[store] url`); a writable open applies pending migrations.

        Raises: NotARunError, MissingGitRepoError, SchemaTooNewError, SchemaTooOldError
        (read-only), ArchiveLockedError, ArchiveCorruptError. Read-only opens create nothing.
        """
        layout = RunLayout(Path(run_dir))
        url = url or layout.store_url()
        layout.check_existing(needs_db_file=url is None)
        store = cls(layout, make_engine(layout, url, readonly=readonly, create=False), readonly=readonly, url=url)
        try:
            version = store.schema_version()
            if readonly or version == 0 or version > SCHEMA_VERSION:
                check_schema(version, store._where)
            if not readonly:  # never write into a damaged file
                damage = store.integrity_problems()
                if damage:
                    raise ArchiveCorruptError(f"{store._where} is damaged ({damage[0]}); nothing was written. Restore it from a backup")
                if version < SCHEMA_VERSION:
                    store._migrate()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        with self._lock:
            if self._git is not None:
                self._git.close()
                self._git = None
            self._engine.dispose()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def run_dir(self) -> Path:
        return self._root

    def schema_version(self) -> int:
        """As `Queries.schema_version`, for any database SQLAlchemy speaks (not only SQLite)."""
        from sqlalchemy import inspect

        def read() -> int:
            with self._engine.connect() as conn:
                if not inspect(conn).has_table(MIGRATIONS_TABLE):
                    return 0
                return int(conn.execute(select(func.max(SchemaMigration.version))).scalar() or 0)

        return self._retrying(read)

    def _migrate(self) -> None:
        """Apply every migration newer than the database, each in its own transaction."""
        dialect = self._dialect

        def apply(session: Session) -> None:
            session.connection().exec_driver_sql(MIGRATIONS_DDL)
            current = session.exec(select(func.max(SchemaMigration.version))).one() or 0
            if current > SCHEMA_VERSION:
                raise SchemaTooNewError(f"{self._where} has schema version {current}, newer than this dgm ({SCHEMA_VERSION})")
            cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            for migration in MIGRATIONS:
                if migration.version > current:
                    for statement in statements_for(migration, dialect):
                        cursor.execute(statement)  # no parameters: a '%' in the SQL is literal for every driver
                    session.add(SchemaMigration(version=migration.version, name=migration.name, applied_at=now()))

        self._write(apply)

    # Plumbing

    def _retrying(self, fn: Callable[[], T]) -> T:
        def driver_error(exc: BaseException) -> BaseException:
            return getattr(exc, "orig", None) or exc

        return sqlite.retry_busy(
            fn, catch=DBAPIError, busy=lambda exc: self._driver.is_busy(driver_error(exc)),
            translate=lambda exc: self._driver.translate(driver_error(exc), self._where),
        )

    def _rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        def run() -> list[Mapping[str, Any]]:
            with self._engine.connect() as conn:
                return [dict(row) for row in conn.execute(text(sql), dict(params or {})).mappings()]

        return self._retrying(run)

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in one write transaction (retried whole while SQLite is busy).

        Raises: ReadOnlyArchiveError on a read-only archive.
        """
        if self._readonly:
            raise ReadOnlyArchiveError(f"{self._root}: the archive was opened read-only")

        def run() -> T:
            with Session(self._write_engine, expire_on_commit=False) as session:
                result = fn(session)
                session.commit()
                return result

        with self._lock:
            return self._retrying(run)

    def _gitw(self) -> GitWriter:
        if self._git is None:
            self._git = GitWriter(self._git_dir)
        return self._git

    def _agent_row(self, session: Session, agent: str) -> Agent:
        row = session.get(Agent, agent)
        if row is None:
            self.get(agent)  # raises UnknownAgentError with the usual message
        return row  # type: ignore[return-value]

    # Agents

    def add_seed(self, src_dir: Path, *, origin: str = "seed", meta: dict | None = None, status: str = "pending") -> AgentRecord:
        """Add an agent with no parent from a folder (caches and .git skipped, modes kept).

        Raises: InvalidTreeError (links, bad paths), ArchiveError (not a folder).
        """
        files = read_dir(Path(src_dir))
        return self._add(None, lambda _parent: self._gitw().write_tree(files), iteration=0, origin=origin, status=status, status_reason=None, meta=meta)

    def add_child(
        self,
        parent_id: str,
        files: Mapping[str, bytes],
        *,
        iteration: int,
        origin: str = "self-modify",
        status: str = "pending",
        status_reason: str | None = None,
        meta: dict | None = None,
    ) -> AgentRecord:
        """Add a child whose code is `files` (its full tree); file modes follow the parent's.

        Raises: UnknownAgentError (parent), InvalidTreeError (a path that cannot be stored).
        """

        def tree(parent: Agent | None) -> str:
            writer = self._gitw()
            modes = writer.file_modes(parent.tree_hash) if parent else {}
            return writer.write_tree({path: (modes.get(path, FILE), data) for path, data in files.items()})

        return self._add(parent_id, tree, iteration=iteration, origin=origin, status=status, status_reason=status_reason, meta=meta)

    def add_child_from_patch(self, parent_id: str, patch: str, **fields: Any) -> AgentRecord:
        """Add a child made of the parent's tree with a unified diff (git format) applied.

        Raises: UnknownAgentError, PatchApplyError (the patch does not apply).
        """
        def tree(parent: Agent | None) -> str:
            assert parent is not None  # a parent id was given: _add found its row or raised
            return self._apply_patch(parent.commit_sha, patch)

        return self._add(parent_id, tree, **fields)

    def _apply_patch(self, parent_commit: str, patch: str) -> str:
        with tempfile.TemporaryDirectory(prefix="dgm-patch-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            gitread.git(self._git_dir, "read-tree", parent_commit, env=env)
            proc = subprocess.run(
                ["git", "--git-dir", str(self._git_dir), "apply", "--cached", "--whitespace=nowarn", "-"],
                input=patch.encode(), capture_output=True, env={**os.environ, **env},
            )
            if proc.returncode != 0:
                first = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["git apply failed"])[0]
                raise PatchApplyError(f"patch does not apply to {parent_commit[:12]}: {first}")
            return gitread.git(self._git_dir, "write-tree", env=env).decode().strip()

    def _add(
        self,
        parent_id: str | None,
        make_tree: Callable[[Agent | None], str],
        *,
        iteration: int,
        origin: str = "self-modify",
        status: str = "pending",
        status_reason: str | None = None,
        meta: dict | None = None,
    ) -> AgentRecord:
        _check(status, AGENT_STATUSES, "status")
        _check(origin, ORIGINS, "origin")
        meta_text = json.dumps(meta or {}, sort_keys=True)

        def add(session: Session) -> AgentRecord:
            if self._dialect == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises writers
                session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADD_AGENT_LOCK})")
            parent = self._agent_row(session, parent_id) if parent_id else None
            seq = (session.exec(select(func.max(Agent.seq))).one() or 0) + 1
            new_id = agent_id(seq)
            tree_hash = make_tree(parent)
            writer = self._gitw()
            message = f"agent {new_id}" + (f" from {parent_id}" if parent_id else f" ({origin})") + f", iteration {iteration}"
            commit = writer.write_commit(tree_hash, parent.commit_sha if parent else None, message)
            writer.set_ref(agent_ref(new_id), commit)  # the commit and ref exist before the row
            writer.sync(agent_ref(new_id))
            row = Agent(
                id=new_id, seq=seq, parent_id=parent_id, commit_sha=commit, tree_hash=tree_hash, created_at=now(),
                iteration=iteration, status=status, status_reason=status_reason, origin=origin, meta=meta_text,
            )
            session.add(row)
            session.flush()
            return AgentRecord.from_row(row.model_dump())

        with self._lock:
            record = self._write(add)
            if record.seq % AUTO_PACK_EVERY == 0:
                self._housekeeping()
            return record

    def _housekeeping(self) -> None:
        """Pack loose objects when git thinks there are enough (outside any transaction)."""
        gitread.git(self._git_dir, "gc", "--auto", "--quiet")
        if self._git is not None:
            self._git.packed = any((self._git_dir / "objects" / "pack").glob("*.pack"))

    def set_status(self, agent_id: str, status: str, reason: str | None = None) -> None:
        """Raises: UnknownAgentError."""
        _check(status, AGENT_STATUSES, "status")

        def change(session: Session) -> None:
            row = self._agent_row(session, agent_id)
            row.status, row.status_reason = status, reason
            session.add(row)

        self._write(change)

    def set_score(self, agent_id: str, score: float | None) -> None:
        """Raises: UnknownAgentError."""

        def change(session: Session) -> None:
            row = self._agent_row(session, agent_id)
            row.score = score
            session.add(row)

        self._write(change)

    def update_meta(self, agent_id: str, **fields: Any) -> None:
        """Merge fields into the agent's meta (diagnosis, problem statement...).

        Raises: UnknownAgentError.
        """

        def change(session: Session) -> None:
            row = self._agent_row(session, agent_id)
            row.meta = json.dumps({**json.loads(row.meta or "{}"), **fields}, sort_keys=True)
            session.add(row)

        self._write(change)

    # Evaluations

    def start_evaluation(
        self, agent_id: str, suite: str, stage: int, n_tasks: int, reused_from: int | None = None, task_key: str | None = None
    ) -> int:
        """Open an evaluation of the agent's tree; `task_key` (the task set's key, as evals
        computes it) makes its result findable by `find_evaluation_by_tree`. Raises: UnknownAgentError."""

        def start(session: Session) -> int:
            agent = self._agent_row(session, agent_id)
            row = Evaluation(
                agent_id=agent_id, suite=suite, stage=stage, n_tasks=n_tasks, started_at=now(),
                reused_from=reused_from, tree_hash=agent.tree_hash, task_key=task_key,
            )
            session.add(row)
            session.flush()
            return int(row.id)  # type: ignore[arg-type]

        return self._write(start)

    def _evaluation_row(self, session: Session, evaluation_id: int) -> Evaluation:
        row = session.get(Evaluation, evaluation_id)
        if row is None:
            raise ArchiveError(f"no evaluation {evaluation_id} in {self._root}")
        return row

    def finish_evaluation(self, evaluation_id: int, score: float, n_passed: int) -> None:
        """From here the evaluation's task results count for its agent (its task count columns
        are recounted in the same transaction). Raises: ArchiveError (unknown evaluation)."""

        def finish(session: Session) -> None:
            row = self._evaluation_row(session, evaluation_id)
            row.score, row.n_passed, row.finished_at = score, n_passed, now()
            session.add(row)
            self._recount(session, row.agent_id)

        self._write(finish)

    def add_task_result(
        self, evaluation_id: int, task_id: str, passed: bool, duration: float, exit_reason: str, log_path: str | Path | None = None
    ) -> None:
        """A verdict; it counts for the agent once its evaluation is finished (at once if it is).

        Raises: ArchiveError (unknown evaluation)."""

        self.add_task_results(evaluation_id, [NewTaskResult(task_id, passed, duration, exit_reason, log_path)])

    def add_task_results(self, evaluation_id: int, results: Sequence[NewTaskResult]) -> None:
        """Several verdicts of one evaluation in one transaction (as `add_task_result` each).

        Raises: ArchiveError (unknown evaluation)."""

        def add(session: Session) -> None:
            evaluation = self._evaluation_row(session, evaluation_id)
            session.add_all([
                TaskResult(
                    evaluation_id=evaluation_id, task_id=r.task_id, passed=int(bool(r.passed)), duration=float(r.duration),
                    exit_reason=r.exit_reason, log_path=str(r.log_path) if r.log_path is not None else None,
                )
                for r in results
            ])
            if evaluation.finished_at is not None:
                self._recount(session, evaluation.agent_id)

        self._write(add)

    def _recount(self, session: Session, agent: str) -> None:
        """Bring the agent's tasks_done / tasks_passed in step with its task results, inside
        the caller's transaction. The agent's row is locked first: on PostgreSQL the recount
        then reads after any other writer's recount of the same agent has committed (SQLite's
        BEGIN IMMEDIATE already serialises writers)."""
        session.flush()
        session.exec(select(Agent.id).where(Agent.id == agent).with_for_update()).first()
        session.connection().execute(text(RECOUNT), {"a": agent})

    def recount_tasks(self, agent_ids: list[str] | None = None) -> int:
        """Recount these agents' (default: all) task count columns from their task results,
        in one transaction: what `verify --repair` does for the agents it found out of step
        (the counts are derived, so nothing can be lost). Returns how many agents."""

        def recount(session: Session) -> int:
            ids = list(agent_ids) if agent_ids is not None else list(session.exec(select(Agent.id)).all())
            for agent in ids:
                self._recount(session, agent)
            return len(ids)

        return self._write(recount)

    # Ledger

    def record_llm_call(
        self, *, agent_id: str | None, task_id: str | None, purpose: str, model: str, prompt_tokens: int,
        completion_tokens: int, cost_usd: float, latency: float, outcome: str,
        iteration: int | None = None, step: str | None = None,
    ) -> None:
        """One row of the ledger; safe to call from the gateway's threads. `step` defaults to
        the purpose; a making step's call names the child's iteration (see `schema.MAKING_STEPS`)."""
        _check(purpose, PURPOSES, "purpose")
        _check(outcome, OUTCOMES, "outcome")
        step = step or purpose
        _check(step, STEPS, "step")
        row = LLMCall(
            run=self._layout.name, agent_id=agent_id, task_id=task_id, purpose=purpose, model=model,
            prompt_tokens=int(prompt_tokens), completion_tokens=int(completion_tokens), cost_usd=float(cost_usd),
            latency=float(latency), outcome=outcome, created_at=now(), iteration=iteration, step=step,
        )
        self._write(lambda session: session.add(row))

    # Jobs

    def enqueue_job(self, kind: str, payload: dict, agent_id: str | None = None) -> int:
        def add(session: Session) -> int:
            row = JobRow(kind=kind, payload=json.dumps(payload, sort_keys=True), agent_id=agent_id, state="queued", created_at=now())
            session.add(row)
            session.flush()
            return int(row.id)  # type: ignore[arg-type]

        return self._write(add)

    def claim_job(self, kinds: list[str] | tuple[str, ...] | None = None) -> Job | None:
        """Atomically take the oldest queued job (of these kinds): running, attempts + 1.

        Safe with several processes: SQLite's write lock serialises claims; on PostgreSQL a
        claim locks its row and skips rows another claim holds (FOR UPDATE SKIP LOCKED)."""

        def claim(session: Session) -> Job | None:
            query = select(JobRow).where(JobRow.state == "queued")
            if kinds:
                query = query.where(JobRow.kind.in_(list(kinds)))  # type: ignore[attr-defined]
            row = session.exec(query.order_by(JobRow.id).limit(1).with_for_update(skip_locked=True)).first()  # type: ignore[arg-type]
            if row is None:
                return None
            row.state, row.attempts, row.started_at, row.finished_at = "running", row.attempts + 1, now(), None
            session.add(row)
            session.flush()
            return Job.from_row(row.model_dump())

        return self._write(claim)

    def finish_job(self, job_id: int, ok: bool, error: str | None = None) -> None:
        """Raises: ArchiveError (unknown job)."""

        def finish(session: Session) -> None:
            row = session.get(JobRow, job_id)
            if row is None:
                raise ArchiveError(f"no job {job_id} in {self._root}")
            row.state, row.error, row.finished_at = ("done" if ok else "failed"), error, now()
            session.add(row)

        self._write(finish)

    def requeue_running(self) -> int:
        """Put jobs left running by a crashed daemon back in the queue; returns how many."""

        def requeue(session: Session) -> int:
            result = session.exec(update(JobRow).where(JobRow.state == "running").values(state="queued", started_at=None))  # type: ignore[arg-type]
            return int(result.rowcount or 0)

        return self._write(requeue)

    # Reviews, events, state

    def add_review(self, agent_id: str, verdict: str, note: str = "", file: str | None = None, line: int | None = None) -> None:
        """A verdict or note; `file` and `line` make a note a comment on one line of the agent's code.

        Raises: UnknownAgentError.
        """
        _check(verdict, VERDICTS, "verdict")

        def add(session: Session) -> None:
            self._agent_row(session, agent_id)
            session.add(Review(agent_id=agent_id, verdict=verdict, note=note, created_at=now(), file=file, line=line))

        self._write(add)

    def log_event(self, kind: str, message: str, agent_id: str | None = None, data: Any = None) -> None:
        row = Event(kind=kind, message=message, agent_id=agent_id, data=None if data is None else json.dumps(data, default=str), created_at=now())
        self._write(lambda session: session.add(row))

    def set_state(self, key: str, value: Any) -> None:
        text_value = json.dumps(value)

        def put(session: Session) -> None:
            session.merge(StateEntry(key=key, value=text_value, updated_at=now()))

        self._write(put)

    # Maintenance

    def verify(self, repair: bool = False) -> VerifyReport:
        """Check the database against git both ways, and the task counts; see `archive.verify`."""
        with self._lock:
            return super().verify(repair=repair and not self._readonly)

    def _count_repair(self) -> Callable[[list[str]], object] | None:
        return None if self._readonly else self.recount_tasks

    def compact(self) -> None:
        """Pack git's loose objects and refs and checkpoint the WAL (sizes, not correctness)."""
        with self._lock:
            gitread.git(self._git_dir, "repack", "-adq")
            gitread.git(self._git_dir, "pack-refs", "--all")
            if self._git is not None:
                self._git.packed = True
            if not self._readonly and self._engine.dialect.name == "sqlite":
                with self._engine.connect() as conn:  # outside any transaction, or SQLite refuses
                    conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def make_engine(layout: RunLayout, url: str | None, *, readonly: bool, create: bool) -> Any:
    """An SQLAlchemy engine; SQLite files are opened through `archive.sqlite.connect` so that
    WAL, the busy timeout and the read-only rules match the light reader's."""
    url = url or layout.default_url()
    if postgres.is_postgres_url(url):
        return create_engine(
            "postgresql+psycopg://", creator=lambda: postgres.connect(url, readonly=readonly, autocommit=False, mappings=False),
            pool_pre_ping=True, pool_size=4, max_overflow=8,
        )
    if not url.startswith("sqlite"):
        raise ArchiveError(f"unsupported archive database URL {url.split(':', 1)[0]}:... (SQLite or postgresql:// only)")
    path = Path(url.split(":///", 1)[1]) if ":///" in url else layout.db
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite.connect(path, readonly=readonly, create=create), poolclass=QueuePool, pool_size=4, max_overflow=8
    )

    @event.listens_for(engine, "begin")
    def begin(conn: Any) -> None:  # IMMEDIATE: a writer takes the lock up front, never mid-way
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("dgm_write") else "BEGIN")

    return engine
