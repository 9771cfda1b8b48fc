"""`RayBackend`: the `sandbox.Backend` contract with each session placed on a cluster node.

A node takes sessions only if it advertises the custom resource `dgm_sandbox` (its slots),
which `dgm worker` does after a sandbox self-check. Each session holds one unit of it through
Ray (`leases.py`), so runs sharing the cluster count the same slots; the head asks for the node
with the most free slots in its own view, and Ray places the lease elsewhere when another run
holds that node's slots. Everything crosses as bytes and is checked on the head: read-only
mounts are sent as files, results come back as files and are validated with the same rules as
any sandbox output; a reply for a session this head did not open is refused and logged. A node that dies under a session turns the session's calls into
`SandboxLostError`, which the evaluation answers by running the task again on another node.
When the cluster's head itself stops answering, every call raises `BackendLost` at once (Ray
would wait a minute for it, then end this process): the run stops and resumes later.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from dgm.sandbox import (
    BackendLost,
    BackendUnavailable,
    MachineFault,
    BatchItem,
    ExecResult,
    Limits,
    Mount,
    SandboxError,
    SandboxLostError,
    SandboxStartError,
    SessionClosedError,
    TransferCaps,
    TransferError,
)
from dgm.sandbox.transfer import check_files, read_dir

from dgm.cluster.bridge import BridgeLimits, GatewayBridge
from dgm.cluster.errors import first_line
from dgm.cluster.head_relay import HeadRelay
from dgm.cluster.leases import Lease, SlotLeases
from dgm.cluster.link import connected, connection_lost
from dgm.cluster.node_host import NodeHost, new_key, relay_timeout
from dgm.llm.gateway import SANDBOX_DIR, TOKEN_NAME

if TYPE_CHECKING:
    from dgm.llm.server import Service

log = logging.getLogger("dgm.cluster")

RESOURCE = "dgm_sandbox"
"""The custom Ray resource a node advertises to take sandboxes; its amount is the slots."""
MOUNT_CAPS = TransferCaps(max_bytes=64 * 1024 * 1024, max_files=5_000, max_file_bytes=16 * 1024 * 1024)
"""What a read-only mount may weigh when it is sent to a node (an agent's tree, a task)."""
REFRESH_SECONDS = 2.0
PROBE_SECONDS = 3.0
"""How long the head of the cluster may take to accept a connection before it counts as lost."""
HOST_PREFIX = "dgm-host:"
"""Node hosts are named actors (dgm-host:<head pid>:<node id>) so `dgm cluster` can ask them."""


@dataclass
class NodeSlots:
    """The head's view of one sandbox node."""

    node_id: str
    host: Any
    """The node's NodeHost actor handle."""
    slots: int
    in_use: int = 0
    lost: bool = False
    ran: int = 0
    """Sessions placed here so far."""


@dataclass(frozen=True)
class Placement:
    key: str
    node_id: str
    labels: Mapping[str, str] = field(default_factory=dict)


class RayBackend:
    """Sessions on the cluster's sandbox nodes; `backend`/`image` name each node's local one."""

    name = "ray"

    def __init__(self, *, backend: str = "auto", image: str = "dgm-sandbox:latest",
                 gateway: Service | None = None, bridge_limits: BridgeLimits | None = None,
                 start_timeout: float = 600.0, host_class: type = NodeHost,
                 reconnect: Callable[[], object] | None = None):
        """`reconnect` connects this process to the cluster again after a Ray Client's link
        broke (the daemon asks `answers()` during an outage); None: no reconnection."""
        self._backend, self._image = backend, image
        self._gateway = gateway
        self._max_request_bytes = gateway.max_request_bytes if gateway is not None else 0
        self._bridge_limits = bridge_limits or BridgeLimits()
        self._relay_timeout = relay_timeout(self._bridge_limits)
        self._connect_again = reconnect
        self._generation = 0
        self._reconnecting = threading.Lock()
        """Connections made so far: a new one gets new host actors (the old ones died with it)."""
        self.start_timeout = start_timeout
        self._host_class = host_class
        import ray

        self._head_address = _head_address(ray)
        self._bridge: Any = None
        self._relay: HeadRelay | None = None
        if gateway is not None:
            self._bridge, self._relay = open_relay(gateway, self._bridge_limits)
        self._nodes: dict[str, NodeSlots] = {}
        self._cond = threading.Condition()
        self._refreshed = 0.0
        self._turn = itertools.count()
        self.leases = SlotLeases(RESOURCE, self.check_cluster)
        self.placements: list[Placement] = []
        self.refused = 0
        self.lost_sessions = 0
        """Sessions whose node died under them (their work ran again elsewhere)."""
        try:
            self.refresh()
        except BaseException:
            self.close()
            raise

    @property
    def relayed(self) -> int:
        """LLM requests from cluster nodes that the head has answered so far."""
        return self._relay.served if self._relay is not None else 0

    def close(self) -> None:
        """Stop relaying LLM calls (requests still waiting end with 502) and remove the bridge.
        Sessions are closed by their owners; never raises."""
        import ray
        import ray.exceptions as rex

        if self._relay is not None:
            self._relay.close()
            self._relay = None
        if self._bridge is not None and connected():  # else gone with the connection
            try:
                ray.kill(self._bridge)
            except (rex.RayError, ConnectionError):  # already gone with its node or the connection
                pass
        self._bridge = None

    # -- nodes ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Learn nodes that joined (or left) and start a host on each new sandbox node."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if not connected():  # a Ray Client whose connection ended
            raise _connection_ended("the Ray Client connection ended")
        self.check_cluster()
        try:
            listed = ray.nodes()
        except Exception as exc:  # noqa: BLE001 - the head of the cluster is gone: no sandbox can start
            raise _link_broken(exc) or BackendLost(f"lost the Ray cluster: {first_line(exc)}") from None
        alive = {n["NodeID"]: int(n.get("Resources", {}).get(RESOURCE, 0)) for n in listed if n.get("Alive")}
        with self._cond:
            self._refreshed = time.monotonic()
            for node_id, slots in alive.items():
                if slots <= 0 or node_id in self._nodes:
                    continue
                host: Any = ray.remote(self._host_class).options(
                    name=f"{HOST_PREFIX}{os.getpid()}-{id(self)}-{self._generation}:{node_id}", num_cpus=0, max_concurrency=max(16, 4 * slots), max_restarts=0,
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
                ).remote(self._backend, self._image, self._bridge, self._max_request_bytes, self._relay_timeout)
                self._nodes[node_id] = NodeSlots(node_id, host, slots)
            for node_id, node in self._nodes.items():
                if node_id not in alive and not node.lost:
                    node.lost = True
            self._cond.notify_all()

    def check_cluster(self) -> None:
        """Raises: BackendLost when the cluster's head no longer accepts connections."""
        from dgm.cluster.address import unreachable

        why = unreachable(self._head_address, PROBE_SECONDS) if self._head_address else ""
        if why:
            raise BackendLost(f"lost the Ray cluster: its head at {self._head_address} does not answer ({why}); "
                              "the interrupted jobs resume on the next 'dgm run'")

    @property
    def total_slots(self) -> int:
        with self._cond:
            return sum(n.slots for n in self._nodes.values() if not n.lost)

    def nodes(self) -> list[NodeSlots]:
        with self._cond:
            return list(self._nodes.values())

    def _acquire(self) -> tuple[NodeSlots, Lease]:
        """A slot leased through Ray, asked first on the live nodes with the most free slots in
        this head's view (ties in turn); waits for one. A lease that lands on a node whose host
        this head lost is fenced off and another is asked for.

        Raises: SandboxStartError when no slot frees up within `start_timeout`; BackendLost.
        """
        deadline = time.monotonic() + self.start_timeout
        while True:
            with self._cond:
                live = [n for n in self._nodes.values() if not n.lost]
                live.sort(key=lambda n: n.in_use - n.slots)
                ties = sum(1 for n in live if n.in_use - n.slots == live[0].in_use - live[0].slots) if live else 0
                turn = next(self._turn) % ties if ties else 0
                order = [n.node_id for n in live[turn:ties] + live[:turn] + live[ties:]]
            try:
                lease = self.leases.take(order, deadline, self.refresh)
            except MachineFault:
                raise
            except Exception as exc:  # a Ray Client's broken link raises plain errors here too
                broken = _link_broken(exc)
                if broken is None:
                    raise
                raise broken from None
            if lease.node_id not in self._nodes:
                self.refresh()
            with self._cond:
                node = self._nodes.get(lease.node_id)
                if node is not None and not node.lost:
                    node.in_use += 1
                    node.ran += 1
                    return node, lease
            self.leases.fence(lease)

    def _release(self, node: NodeSlots, lease: Lease, node_lost: bool = False) -> None:
        with self._cond:
            node.in_use -= 1
            self._cond.notify_all()
        if node_lost:  # Ray would move the lease to another node: of no use to keep
            self.leases.end(lease)
        else:
            self.leases.give_back(lease)

    def _lost(self, node: NodeSlots) -> None:
        with self._cond:
            if not node.lost:
                log.warning("cluster node %s was lost; its sandboxes run again elsewhere", node.node_id[:12])
            node.lost = True
            self._cond.notify_all()

    # -- the Backend contract ----------------------------------------------------------------
    def start(self, limits: Limits | None = None, mounts: Sequence[Mount] = (),
              labels: Mapping[str, str] | None = None) -> RaySession:
        import ray

        limits = limits or Limits()
        mount_files: dict[str, dict[str, bytes]] = {}
        token = None
        for mount in mounts:
            if not mount.read_only:
                raise SandboxStartError(f"a cluster sandbox takes read-only mounts only ({mount.sandbox_path})")
            if mount.sandbox_path == SANDBOX_DIR:
                token = (Path(mount.host_path) / TOKEN_NAME).read_text().strip()
                continue
            try:
                mount_files[mount.sandbox_path] = read_dir(Path(mount.host_path), MOUNT_CAPS)
            except TransferError as exc:
                raise SandboxStartError(f"cannot send {mount.sandbox_path} to a cluster node: {exc}") from None
        if token is not None and self._bridge is None:
            raise SandboxStartError("this cluster backend has no gateway bridge: LLM access cannot be relayed")
        while True:
            node, lease = self._acquire()
            key = new_key()
            try:
                ray.get(node.host.start.remote(key, limits, mount_files, token, dict(labels or {})))
            except BaseException as exc:
                broken = _link_broken(exc)
                if broken is not None:  # this head's link, not the node
                    self._release(node, lease)
                    raise broken from None
                if _is_lost(exc):
                    self.check_cluster()
                    self._release(node, lease, node_lost=True)
                    log.warning("starting a sandbox on node %s failed: %s", node.node_id[:12], first_line(exc))
                    self._lost(node)
                    continue  # nothing ran yet: try another node
                self._release(node, lease)
                raise _cause(exc) from None
            with self._cond:
                self.placements.append(Placement(key, node.node_id, dict(labels or {})))
            return RaySession(self, node, lease, key, limits)

    def answers(self) -> bool:
        """Whether the cluster can start sessions now: Ray answers and a live node advertises
        sandbox slots. Never raises."""
        try:
            if self._connect_again is not None and not connected():
                with self._reconnecting:  # jobs in flight may ask at once: one reconnects
                    if not connected():
                        self._reconnect()
            self.refresh()
            with self._cond:
                return any(node.slots > 0 and not node.lost for node in self._nodes.values())
        except Exception:  # noqa: BLE001 - a cluster that cannot be asked does not answer
            return False

    def _reconnect(self) -> None:
        """Connect again through Ray Client after the link broke. Everything this process had
        on the cluster went with the old link (its driver there ended), so the relay and the
        node hosts are made anew; the daemon re-queues the jobs the break cut short.

        Raises: ClusterError while the cluster does not answer.
        """
        import ray

        assert self._connect_again is not None
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        ray.shutdown()  # forget the broken client before a new one
        self._connect_again()
        log.warning("connected to the Ray cluster again")
        with self._cond:
            self._nodes = {}
            self._generation += 1
        if self._gateway is not None:
            self._bridge, self._relay = open_relay(self._gateway, self._bridge_limits)

    def sweep(self, run_id: str | None = None, include_own: bool = False) -> int:
        """Remove dead owners' sandboxes on every sandbox node (and with `include_own`, every
        session this head placed)."""
        import ray

        self.refresh()
        if include_own:
            self.leases.end_idle()
        removed = 0
        for node in self.nodes():
            if node.lost:
                continue
            try:
                if include_own:
                    removed += ray.get(node.host.close_all.remote())
                removed += ray.get(node.host.sweep.remote(run_id))
            except BaseException as exc:
                if not _is_lost(exc):
                    cause = _cause(exc)
                    if isinstance(cause, BackendUnavailable):
                        raise cause from None
                    raise SandboxError(f"sweeping node {node.node_id[:12]} failed: {cause}") from None
                self._lost(node)
        return removed

    def running(self) -> dict[str, list[dict[str, str]]]:
        """Live sessions per node id, from the nodes themselves (for `dgm cluster`)."""
        import ray

        out = {}
        for node in self.nodes():
            if not node.lost:
                try:
                    out[node.node_id] = ray.get(node.host.running.remote(), timeout=10)
                except BaseException:  # noqa: BLE001 - a node that does not answer shows nothing
                    out[node.node_id] = []
        return out


class RaySession:
    """A session on a cluster node, seen from the head: each call is a request to that node."""

    def __init__(self, backend: RayBackend, node: NodeSlots, lease: Lease, key: str, limits: Limits):
        self.id = key
        self.node_id = node.node_id
        self._backend, self._node, self._lease, self._limits = backend, node, lease, limits
        self._closed = False

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        import ray

        if self._closed:
            raise SessionClosedError(f"session {self.id} is closed")
        try:
            key, result = ray.get(self._node.host.call.remote(self.id, method, args, kwargs))
        except BaseException as exc:
            broken = _link_broken(exc)
            if broken is not None:  # this head's link, not the node
                raise broken from None
            if _is_lost(exc):
                self._backend.check_cluster()
                self._release(node_lost=True)
                self._backend._lost(self._node)
                with self._backend._cond:
                    self._backend.lost_sessions += 1
                raise SandboxLostError(f"the cluster node running sandbox {self.id} was lost") from None
            raise _cause(exc) from None
        if key != self.id:
            self._backend.refused += 1
            log.error("refused a result from node %s for session %r, which this head did not ask", self.node_id[:12], key)
            raise SandboxError(f"refused a result for a session this head did not open ({key!r})")
        return result

    def exec(self, argv: Sequence[str], *, timeout: float | None = None, stdin: bytes | None = None,
             env: Mapping[str, str] | None = None, cwd: str | None = None) -> ExecResult:
        return _checked_result(self._call("exec", list(argv), timeout=timeout, stdin=stdin,
                                          env=dict(env) if env is not None else None, cwd=cwd))

    def run_batch(self, items: Sequence[BatchItem]) -> list[ExecResult]:
        results = self._call("run_batch", list(items))
        if not isinstance(results, list) or len(results) != len(items):
            raise SandboxError("refused a malformed batch result from a cluster node")
        return [_checked_result(r) for r in results]

    def put_files(self, dest: str, files: Mapping[str, bytes]) -> None:
        self._call("put_files", dest, dict(files))

    def put_dir(self, src: Path, dest: str) -> None:
        self.put_files(dest, read_dir(Path(src), TransferCaps()))

    def get_files(self, src: str, caps: TransferCaps | None = None) -> dict[str, bytes]:
        caps = caps or TransferCaps()
        return check_files(self._call("get_files", src, caps), caps)

    def _release(self, node_lost: bool = False) -> None:
        if not self._closed:
            self._closed = True
            self._backend._release(self._node, self._lease, node_lost)

    def close(self) -> None:
        import ray

        if self._closed:
            return
        try:
            ray.get(self._node.host.close.remote(self.id), timeout=120)
        except BaseException:  # noqa: BLE001 - never raises; a node's leftovers are swept there
            pass
        self._release()

    def __enter__(self) -> RaySession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_relay(gateway: Service, limits: BridgeLimits) -> tuple[Any, HeadRelay]:
    """The bridge actor and the head's thread that serves it. The bridge goes on the node Ray
    calls this driver's (with a Ray Client, the cluster's head node) when it can, to keep it
    off the nodes that run agents, but anywhere works: the head pulls from it."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    bridge = ray.remote(GatewayBridge).options(
        num_cpus=0, max_concurrency=1000, max_restarts=0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=True),
    ).remote(limits)
    return bridge, HeadRelay(bridge, gateway)


def _checked_result(result: Any) -> ExecResult:
    if not isinstance(result, ExecResult) or not isinstance(result.stdout, bytes) or not isinstance(result.stderr, bytes):
        raise SandboxError("refused a malformed exec result from a cluster node")
    cap = 64 * 1024 * 1024
    if len(result.stdout) > cap or len(result.stderr) > cap:
        raise SandboxError("refused an oversized exec result from a cluster node")
    return result


def _head_address(ray: Any) -> str:
    """host:port of the cluster's head as this process reaches it ('' when Ray does not say)."""
    try:
        return str(ray.get_runtime_context().gcs_address or "")
    except Exception:  # noqa: BLE001 - a client-mode driver may not know it; then nothing is probed
        return ""


def _is_lost(exc: BaseException) -> bool:
    """Whether a Ray error means the node (or its host process) is gone, not that the call failed."""
    import ray.exceptions as rex

    return isinstance(exc, rex.RayError) and not isinstance(exc, rex.RayTaskError)


def _cause(exc: BaseException) -> BaseException:
    """The exception raised on the node, unwrapped from Ray's task error; BackendUnavailable
    when the connection to the cluster itself ended (not the agent's failure: the daemon waits
    for the cluster as for a Docker daemon that went away, then stops with one line)."""
    import ray.exceptions as rex

    if isinstance(exc, rex.RayTaskError) and isinstance(exc.cause, BaseException):
        return exc.cause
    return _link_broken(exc) or exc


def _link_broken(exc: BaseException) -> BackendUnavailable | None:
    """The outage `exc` means when this head's connection to the cluster ended (a node lost or
    the agent's failure is something else), else None."""
    if isinstance(exc, Exception) and connection_lost(exc):
        return _connection_ended(first_line(exc))
    return None


def _connection_ended(detail: str) -> BackendUnavailable:
    return BackendUnavailable(f"lost the connection to the Ray cluster ({detail[:200]})")

