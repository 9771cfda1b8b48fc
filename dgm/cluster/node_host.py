"""What runs on a cluster node: one `NodeHost` actor per node, holding that node's sandbox
sessions on its real local backend (Docker or bubblewrap), and one LLM relay.

The host receives everything as bytes: the files of each read-only mount, the per-sandbox
LLM token (never a provider key). The relay serves /run/llm inside this node's sandboxes
and hands each request, with its token, to the bridge actor, where the head pulls it from
(dgm/cluster/bridge.py): tokens, allow-list, budgets and the ledger are all enforced on the head.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any, Mapping

from dgm.sandbox import Limits, Mount, Session, open_backend
from dgm.sandbox.transfer import check_relpath, check_sandbox_dir

from dgm.cluster.bridge import CHAT, MODELS, BridgeLimits
from dgm.llm.gateway import SANDBOX_DIR, SOCKET_NAME, TOKEN_NAME

def relay_timeout(limits: BridgeLimits) -> float:
    """The relay's own limit on one request: past the bridge's, for a bridge that never replies."""
    return limits.request_timeout + 60

SESSION_METHODS = frozenset({"exec", "run_batch", "put_files", "get_files"})
"""What the head may call on a session (put_dir is done on the head, as put_files)."""


class RelayService:
    """The `dgm.llm.server.Service` of a node: every request goes to the head through the
    bridge, untouched. A bridge that is gone or silent is a 502 to the agent, never a hang."""

    def __init__(self, bridge: Any, max_request_bytes: int, timeout: float = relay_timeout(BridgeLimits())):
        self.bridge = bridge
        self.max_request_bytes = max_request_bytes
        self.timeout = timeout

    def serve(self, token: str | None, body: bytes | None, length: int | None) -> tuple[int, dict[str, Any]]:
        return self._ask(CHAT, token, body, length)

    def models(self, token: str | None) -> tuple[int, dict[str, Any]]:
        return self._ask(MODELS, token, None, None)

    def _ask(self, kind: str, token: str | None, body: bytes | None, length: int | None) -> tuple[int, dict[str, Any]]:
        import ray
        import ray.exceptions as rex

        from dgm.llm.wire import error_body

        if self.bridge is None:
            return 502, error_body("this cluster run relays no LLM calls", "gateway_unreachable")
        try:
            status, body_out = ray.get(self.bridge.request.remote(kind, token, body, length), timeout=self.timeout)
        except rex.RayError as exc:  # the bridge died with the head's connection, or never answered
            return 502, error_body(f"the head's gateway did not answer: {type(exc).__name__}", "gateway_unreachable")
        return status, body_out


class NodeHost:
    """The sessions of one node, keyed by the head's session key. Threaded (many calls at
    once); a session's calls come from one head thread at a time."""

    def __init__(self, backend: str, image: str, bridge: Any, max_request_bytes: int, timeout: float = relay_timeout(BridgeLimits())):
        self.backend = open_backend(backend, image)
        self.base = Path(tempfile.mkdtemp(prefix="dgm-node-", dir="/tmp"))
        self.sessions: dict[str, tuple[Session, Path, dict[str, str]]] = {}
        self.lock = threading.Lock()
        from dgm.llm.server import UnixHTTPServer

        self.relay_path = self.base / SOCKET_NAME
        self.relay = UnixHTTPServer(str(self.relay_path), RelayService(bridge, max_request_bytes, timeout))
        os.chmod(self.relay_path, 0o666)  # the sandbox user connects; the token is the lock
        threading.Thread(target=self.relay.serve_forever, name="dgm-llm-relay", daemon=True).start()

    def describe(self) -> dict[str, Any]:
        import ray

        return {"node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
                "backend": self.backend.name, "pid": os.getpid()}

    def start(self, key: str, limits: Limits, mount_files: Mapping[str, Mapping[str, bytes]],
              llm_token: str | None, labels: Mapping[str, str]) -> str:
        """Start a session with the given mounts made of bytes; returns this node's id."""
        import ray

        folder = Path(tempfile.mkdtemp(prefix="s-", dir=self.base))
        folder.chmod(0o755)
        mounts = [Mount(_materialise(folder / f"m{i}", files), check_sandbox_dir(path))
                  for i, (path, files) in enumerate(sorted(mount_files.items()))]
        if llm_token is not None:
            mounts.append(Mount(self._grant(folder / "llm", llm_token), SANDBOX_DIR))
        try:
            session = self.backend.start(limits, mounts, dict(labels))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self.lock:
            self.sessions[key] = (session, folder, dict(labels))
        return ray.get_runtime_context().get_node_id()

    def _grant(self, directory: Path, token: str) -> Path:
        directory.mkdir(mode=0o755)
        directory.chmod(0o755)
        os.link(self.relay_path, directory / SOCKET_NAME)  # one relay socket, one folder per sandbox
        (directory / TOKEN_NAME).write_text(token)
        (directory / TOKEN_NAME).chmod(0o444)
        return directory

    def call(self, key: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any]:
        """A session call; the reply names the session it belongs to, for the head to check.

        Raises: SessionClosedError for a key this node does not hold.
        """
        from dgm.sandbox import SessionClosedError

        if method not in SESSION_METHODS:
            raise SessionClosedError(f"no such session call {method!r}")
        with self.lock:
            held = self.sessions.get(key)
        if held is None:
            raise SessionClosedError(f"session {key} is not on this node")
        return key, getattr(held[0], method)(*args, **kwargs)

    def close(self, key: str) -> None:
        with self.lock:
            held = self.sessions.pop(key, None)
        if held is not None:
            held[0].close()
            shutil.rmtree(held[1], ignore_errors=True)

    def running(self) -> list[dict[str, str]]:
        """The labels of each live session (what `dgm cluster` shows)."""
        with self.lock:
            return [dict(labels) for _, _, labels in self.sessions.values()]

    def sweep(self, run_id: str | None) -> int:
        """Remove leftovers of dead owners on this node (e.g. of a head killed with -9)."""
        return self.backend.sweep(run_id)

    def close_all(self) -> int:
        with self.lock:
            keys = list(self.sessions)
        for key in keys:
            self.close(key)
        return len(keys)


def _materialise(folder: Path, files: Mapping[str, bytes]) -> Path:
    """Files from the head written as a read-only mount: world-readable, owned by the host."""
    folder.mkdir(mode=0o755)
    for name, data in files.items():
        path = folder / check_relpath(name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.write_bytes(data)
        path.chmod(0o644)
    for root, dirs, _ in os.walk(folder):
        for d in dirs:
            Path(root, d).chmod(0o755)
    return folder


def new_key() -> str:
    return secrets.token_hex(8)
