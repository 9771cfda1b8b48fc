"""Isolation backends: the only way this project runs agent code."""

from sandbox.base import (
    Backend,
    BatchItem,
    ExecResult,
    Limits,
    Mount,
    NoBackendError,
    SandboxError,
    SandboxStartError,
    Session,
    SessionClosedError,
    TransferCaps,
    TransferError,
)
from sandbox.select_backend import BackendStatus, describe_backends, open_backend

__all__ = [
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
    "SandboxStartError",
    "Session",
    "SessionClosedError",
    "TransferCaps",
    "TransferError",
]
