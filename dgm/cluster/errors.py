"""Errors of the cluster executor."""

from __future__ import annotations

from dgm.errors import DgmError


class ClusterError(DgmError):
    """The Ray cluster cannot be used: ray is not installed, the address does not answer, or
    the connection was lost. The message is one line that says what to do."""


def first_line(exc: BaseException) -> str:
    """An exception as one line: Ray's messages run to many (its tracebacks included)."""
    lines = [line.strip(" :") for line in str(exc).strip().splitlines() if line.strip(" :")]
    return lines[0] if lines else type(exc).__name__
