"""Isolation backends: the only way this project runs agent code."""

from sandbox.base import (
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
from sandbox.layout import TRUSTED_PYTHON
from sandbox.select_backend import BackendStatus, describe_backends, open_backend

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
