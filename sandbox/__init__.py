"""Isolation backends: the only way this project runs agent code."""

from dgm.sandbox.base import (
    Backend,
    BatchItem,
    ExecResult,
    Limits,
    Mount,
    NoBackendError,
    SandboxError,
    SandboxLostError,
    SandboxStartError,
    Session,
    SessionClosedError,
    TransferCaps,
    TransferError,
)
from dgm.sandbox.layout import TRUSTED_PYTHON
from dgm.sandbox.select_backend import BackendStatus, describe_backends, open_backend

__all__ = [
    "TRUSTED_PYTHON",
    "BackendStatus",
    "describe_backends",
    "open_backend",
    "Backend",
    "BatchItem",
    "ExecResult",
    "Limits",
    "Mount",
    "NoBackendError",
    "SandboxError",
    "SandboxLostError",
    "SandboxStartError",
    "Session",
    "SessionClosedError",
    "TransferCaps",
    "TransferError",
]
