"""Whether a Ray address answers, asked with a plain TCP connection: Ray itself waits
minutes for a head that is not there (and then ends the process)."""

from __future__ import annotations

from dgm.cluster.errors import ClusterError


def unreachable(address: str, seconds: float) -> str:
    """Why nothing answers at the address's port ('' when something does).

    Raises: ClusterError when `address` is not host:port (or ray://host:port)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"not a Ray address: {address!r} (use auto, host:port or ray://host:10001)")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return ""
