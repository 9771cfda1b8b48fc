"""Sandbox slots held through Ray, so that every run sharing a cluster counts the same slots.

A session holds one unit of the `dgm_sandbox` resource for its whole life, as a placement
group of one bundle (a reservation: no process runs for it). Ray grants a unit only where one
is free, whichever run asks, so two heads on one cluster never place more sandboxes on a node
than it advertises. Creating a group costs a round of Ray's placement protocol (about 0.2 s on
a busy 2-core machine), so a lease given back is kept IDLE_SECONDS for this head's next session
before Ray gets it back for anyone: sessions of a run follow each other closely.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from dgm.sandbox import SandboxStartError

IDLE_SECONDS = 2.0
"""How long a lease given back waits for this head's next session before it ends."""
WAIT_STEP = 2.0
"""While no unit is free: how often the caller's `waiting` runs (to learn new nodes, or that
the cluster is gone)."""


@dataclass(frozen=True)
class Lease:
    group: Any
    """The Ray placement group holding the unit."""
    node_id: str


class SlotLeases:
    """The leases of one head: taken for a session, given back, ended once idle. Thread-safe."""

    def __init__(self, resource: str, alive: Callable[[], None]):
        """`alive()` raises when the cluster is gone (then nothing is asked of Ray)."""
        self.resource = resource
        self._alive = alive
        self._lock = threading.Lock()
        self._idle: list[tuple[Lease, float]] = []
        self._fenced: list[Lease] = []
        self.created = 0
        """Leases asked of Ray so far (the others were reused)."""

    def take(self, nodes: Sequence[str], deadline: float, waiting: Callable[[], None]) -> Lease:
        """A lease for one session: an idle one of this head on the first of `nodes` (best
        first) that has one, else a new one that Ray places on `nodes[0]` if that node has a
        free unit, or wherever one is free. Waits until `deadline` for one.

        Raises: SandboxStartError at the deadline; what `alive` and `waiting` raise.
        """
        with self._lock:
            for node_id in nodes:
                for i, (lease, _) in enumerate(self._idle):
                    if lease.node_id == node_id:
                        del self._idle[i]
                        return lease
        return self._create(nodes[0] if nodes else None, deadline, waiting)

    def _create(self, target: str | None, deadline: float, waiting: Callable[[], None]) -> Lease:
        import ray
        from ray.util.placement_group import placement_group, placement_group_table

        self._alive()
        group = placement_group([{self.resource: 1}], strategy="STRICT_PACK", _soft_target_node_id=target)
        try:
            ready = group.ready()
            while not ray.wait([ready], timeout=max(0.0, min(WAIT_STEP, deadline - time.monotonic())))[0]:
                if time.monotonic() >= deadline:
                    raise SandboxStartError(f"no cluster node with a free '{self.resource}' slot in time "
                                            "(other runs may hold them; join a node with 'dgm worker --address ...')")
                waiting()
            with self._lock:
                self.created += 1
            return Lease(group, placement_group_table(group)["bundles_to_node_id"][0])
        except BaseException:
            self._end(group)
            raise

    def give_back(self, lease: Lease) -> None:
        """The session ended: keep the lease a moment for the next one, then end it."""
        with self._lock:
            self._idle.append((lease, time.monotonic()))
        timer = threading.Timer(IDLE_SECONDS, self._expire)
        timer.daemon = True
        timer.start()

    def fence(self, lease: Lease) -> None:
        """Keep a lease of no use to this head (its node's host is lost) so Ray does not grant
        that unit to it again; it ends with this driver's job."""
        with self._lock:
            self._fenced.append(lease)

    def end(self, lease: Lease) -> None:
        """End a lease now (its node is gone)."""
        self._end(lease.group)

    def end_idle(self) -> None:
        """End every idle lease now."""
        with self._lock:
            idle, self._idle = self._idle, []
        for lease, _ in idle:
            self._end(lease.group)

    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            old = [lease for lease, since in self._idle if now - since >= IDLE_SECONDS - 0.01]
            self._idle = [(lease, since) for lease, since in self._idle if now - since < IDLE_SECONDS - 0.01]
        for lease in old:
            self._end(lease.group)

    def _end(self, group: Any) -> None:
        """Never raises, nor waits on a lost cluster (its leases end with it)."""
        from ray.util.placement_group import remove_placement_group

        from dgm.cluster.link import connected

        try:
            if not connected():  # gone with this driver's connection
                return
            self._alive()
            remove_placement_group(group)
        except Exception:  # noqa: BLE001 - a lease that cannot be removed ends with this driver's job
            pass
