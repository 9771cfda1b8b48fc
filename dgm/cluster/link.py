"""Whether this process is still connected to its Ray cluster, asked without raising."""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

log = logging.getLogger(__name__)


def connected() -> bool:
    """Whether this process is connected to a cluster; never raises (a Ray Client whose link
    broke raises from `ray.is_initialized` itself)."""
    import ray

    try:
        return bool(ray.is_initialized())
    except Exception:  # noqa: BLE001 - whatever the broken link raises, it means no
        return False


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` means this process lost its connection to the cluster rather than a call
    failing: a Ray Client raises gRPC errors at once on a broken link, ConnectionError once
    Ray's reconnection grace period is over, and plain errors after that."""
    if isinstance(exc, ConnectionError) or "Ray Client is not connected" in str(exc):
        return True
    try:
        import grpc
    except ImportError:  # no Ray Client here
        return not connected()
    return isinstance(exc, grpc.RpcError) or not connected()


def quiet_closed_channels() -> None:
    """Keep gRPC's own thread from printing a traceback when a Ray Client's link breaks: its
    connectivity poller races the channel's close and raises "Channel closed" (a known gRPC
    race), which Python's default hook prints. That error alone is logged at debug level;
    every other uncaught thread error still goes to the hook that was there before."""
    previous = threading.excepthook
    if getattr(previous, "_dgm_quiet", False):
        return

    def hook(args: Any) -> None:
        frames = traceback.extract_tb(args.exc_traceback) if args.exc_traceback else []
        if isinstance(args.exc_value, ValueError) and "Channel closed" in str(args.exc_value) \
                and any("grpc" in frame.filename for frame in frames):
            log.debug("gRPC's poller saw its channel closed: %s", args.exc_value)
            return
        previous(args)

    hook._dgm_quiet = True  # type: ignore[attr-defined]
    threading.excepthook = hook
