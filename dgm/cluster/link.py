"""Whether this process is still connected to its Ray cluster, asked without raising."""

from __future__ import annotations


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
