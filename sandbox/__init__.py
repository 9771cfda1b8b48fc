"""Isolation backends: the only way this project runs agent code."""

from dgm.sandbox.base import (
    Backend,
    BackendLost,
    BackendUnavailable,
    BatchItem,
    ExecResult,
    Limits,
    MachineFault,
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
from dgm.sandbox.foreign import WORKSPACE_SEED
from dgm.sandbox.health import wait_for_backend
from dgm.sandbox.layout import DEFAULT_IMAGE, POLYGLOT_IMAGE, TRUSTED_PYTHON
from dgm.sandbox.select_backend import BackendStatus, describe_backends, open_backend

__all__ = [
    "DEFAULT_IMAGE",
    "POLYGLOT_IMAGE",
    "TRUSTED_PYTHON",
    "WORKSPACE_SEED",
    "BackendStatus",
    "describe_backends",
    "open_backend",
    "Backend",
    "BackendLost",
    "BackendUnavailable",
    "BatchItem",
    "ExecResult",
    "Limits",
    "MachineFault",
    "Mount",
    "NoBackendError",
    "SandboxError",
    "SandboxLostError",
    "SandboxStartError",
    "Session",
    "SessionClosedError",
    "TransferCaps",
    "TransferError",
    "wait_for_backend",
]
