"""Opening the archive in PostgreSQL with psycopg 3, and naming PostgreSQL's failures.

The counterpart of `archive.sqlite`, with the same functions (`connect`, `translate`,
`is_busy`, `with_retry`, `rows`), so the light reader and the store speak to either through one
seam. psycopg is imported on first connection only: a run on SQLite never loads it, and the
CLI's start-up never does. Authentication is libpq's own (PGPASSWORD, ~/.pgpass, peer auth
on a unix socket, PGSERVICE...): the URL in run.toml should not hold a password.
"""

from __future__ import annotations

import re
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit, urlunsplit

from dgm.archive.errors import ArchiveError, ArchiveLockedError

T = TypeVar("T")

SCHEMES = ("postgresql", "postgres")
RETRYABLE_STATES = {"40001", "40P01", "55P03"}
"""serialization_failure, deadlock_detected, lock_not_available: run the transaction again."""
PARAM_RE = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].split("+", 1)[0] in SCHEMES  # type: ignore[union-attr]


def has_password(url: str) -> bool:
    """Whether the URL carries a password (in its user part or as a `password=` parameter)."""
    parts = urlsplit(url)
    return parts.password is not None or "password=" in parts.query


def redact(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def libpq_url(url: str) -> str:
    """A URL libpq understands: SQLAlchemy's 'postgresql+psycopg://' loses its driver part."""
    scheme, rest = url.split(":", 1)
    return "postgresql:" + rest if scheme.split("+", 1)[0] in SCHEMES else url


def connect(url: str, *, readonly: bool, autocommit: bool = True, mappings: bool = True) -> Any:
    """A psycopg connection (autocommit, rows as dicts unless told otherwise); a read-only
    one refuses every write in the server (default_transaction_read_only).

    Raises: ArchiveError naming the server (password hidden) when it cannot be reached.
    """
    import psycopg
    from psycopg.rows import dict_row, tuple_row

    options: dict[str, Any] = {"options": "-c default_transaction_read_only=on"} if readonly else {}
    try:
        return psycopg.connect(
            libpq_url(url), autocommit=autocommit, row_factory=dict_row if mappings else tuple_row,
            connect_timeout=10, application_name="dgm", **options,
        )
    except psycopg.Error as exc:
        raise translate(exc, redact(url)) from None


def translate(exc: BaseException, where: str) -> ArchiveError:
    """PostgreSQL's error as one of ours, naming the database (never its password)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if is_busy(exc):
        return ArchiveLockedError(f"{where} is busy ({text}); try again later")
    if type(exc).__name__ == "OperationalError" and getattr(exc, "sqlstate", None) is None:
        hint = "; give the password with PGPASSWORD or ~/.pgpass, never in the URL" if "password" in text.lower() else ""
        return ArchiveError(f"cannot reach the archive database {where}: {text}{hint}")
    return ArchiveError(f"{where}: {text}")


def is_busy(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) in RETRYABLE_STATES


def with_retry(fn: Callable[[], T], where: str, timeout: float | None = None) -> T:
    """Run `fn`, again while PostgreSQL reports a conflict, up to the busy timeout.

    Raises: ArchiveLockedError when still conflicting at the deadline, ArchiveError otherwise.
    """
    import psycopg

    from dgm.archive.sqlite import retry_busy

    return retry_busy(fn, catch=psycopg.Error, busy=is_busy, translate=lambda exc: translate(exc, where), timeout=timeout)


def to_pyformat(sql: str) -> str:
    """`:name` parameters (what sqlite3 and SQLAlchemy's text() take) as psycopg's `%(name)s`."""
    return PARAM_RE.sub(r"%(\1)s", sql.replace("%", "%%"))


def rows(conn: Any, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with conn.cursor() as cursor:
        cursor.execute(to_pyformat(sql), params or {})
        return cursor.fetchall() if cursor.description else []
