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

__all__ = [
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
