"""Errors of the cluster executor."""

from __future__ import annotations

from dgm.errors import DgmError


class ClusterError(DgmError):
    """The Ray cluster cannot be used: ray is not installed, the address does not answer, or
    the connection was lost. The message is one line that says what to do."""
