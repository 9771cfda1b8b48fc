"""Joining a Ray cluster as the head's driver, with errors as one line."""

from __future__ import annotations

import logging
import os
from typing import Any

from dgm.cluster.address import unreachable
from dgm.cluster.errors import ClusterError, first_line
from dgm.cluster.link import connected, quiet_closed_channels

INSTALL_HINT = "install it with: pip install 'dgm[ray]'"
NAMESPACE = "dgm"


def import_ray() -> Any:
    """Raises: ClusterError when ray is not installed."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"the ray executor needs the 'ray' package: {INSTALL_HINT}") from None
    return ray


def connect(address: str, local_slots: int = 0) -> bool:
    """Connect this process to the cluster at `address` ("auto", "ray://host:10001", or
    "host:port"); an empty address starts a Ray instance in this process whose one node
    offers `local_slots` sandbox slots.

    Returns whether this call connected (False: the process already was, e.g. a test's driver).

    Raises: ClusterError when ray is missing or the cluster does not answer.
    """
    from dgm.cluster.ray_backend import RESOURCE

    ray = import_ray()
    if connected():
        return False
    if address.startswith("ray://"):
        import importlib.util

        if importlib.util.find_spec("grpc") is None:
            raise ClusterError(f"a ray:// address needs Ray Client (grpcio): {INSTALL_HINT}")
        quiet_closed_channels()
    if address and address != "auto":
        probe(address)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, Any] = dict(namespace=NAMESPACE, logging_level=logging.WARNING, log_to_driver=False,
                                  include_dashboard=False)
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        try:
            if address:
                kwargs.pop("include_dashboard", None)
                ray.init(address=address, **kwargs)
            else:
                ray.init(resources={RESOURCE: max(1, local_slots)}, **kwargs)
            return True
        except Exception as exc:  # noqa: BLE001 - ray raises many kinds (ConnectionError, RuntimeError...)
            if address.startswith("ray://") and attempt < CLIENT_ATTEMPTS and _server_start_failed(exc):
                ray.shutdown()  # forget the half-made client, then ask for a new server
                continue
            where = f"at {address}" if address else "locally"
            raise ClusterError(f"cannot reach the Ray cluster {where}: {first_line(exc)}") from None
    raise AssertionError("unreachable")


CLIENT_ATTEMPTS = 3
"""Connections tried through Ray Client: its per-driver server sometimes dies as it starts
(a gRPC fork race in Ray's proxy, ray-project/ray#63202), and a new one usually starts."""


def _server_start_failed(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionAbortedError) or "client server failed" in str(exc) \
        or "Initialization failure from server" in str(exc)


def probe(address: str, seconds: float = 5.0) -> None:
    """A TCP connection to the address's port, because Ray itself waits minutes for a head
    that is not there.

    Raises: ClusterError when nothing answers.
    """
    why = unreachable(address, seconds)
    if why:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {why}")


def disconnect() -> None:
    import ray

    if connected():
        ray.shutdown()
