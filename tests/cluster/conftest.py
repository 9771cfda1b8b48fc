"""A real Ray cluster on this machine, shared by the cluster tests: a head node without
sandbox slots (with a Ray Client server, for drivers outside the cluster) and two worker nodes
that advertise `dgm_sandbox`. The head's processes get a canary provider key in their
environment, the workers' do not, as on a real cluster where the keys live on the head only."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CANARY = "sk-canary-DO-NOT-LEAK-4242"
STORE = 80 * 1024 * 1024  # object store per node: jobs send files, not data sets


@dataclass
class LocalCluster:
    cluster: Any
    workers: list[Any]
    head_id: str
    client_address: str
    """ray://127.0.0.1:PORT, the head's Ray Client server."""

    def add_worker(self, slots: int = 2) -> Any:
        saved = os.environ.pop("OPENAI_API_KEY", None)  # a worker's machine has no key
        try:
            node = self.cluster.add_node(num_cpus=1, resources={"dgm_sandbox": slots}, object_store_memory=STORE)
        finally:
            if saved is not None:
                os.environ["OPENAI_API_KEY"] = saved
        self.workers.append(node)
        self.cluster.wait_for_nodes()
        return node

    def kill(self, node: Any) -> None:
        """A worker machine dying: its processes killed at once, no goodbye."""
        self.cluster.remove_node(node, allow_graceful=False)
        self.workers.remove(node)


def node_id(node: Any) -> str:
    return node.node_id


@pytest.fixture(scope="session")
def ray_cluster():
    import ray
    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["OPENAI_API_KEY"] = CANARY  # the head's environment holds the key
    client_port = free_port()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "object_store_memory": STORE,
                                                            "include_dashboard": False,
                                                            "ray_client_server_port": client_port})
    handle = LocalCluster(cluster, [], cluster.head_node.node_id, f"ray://127.0.0.1:{client_port}")
    try:
        handle.add_worker()
        handle.add_worker()
        ray.init(address=cluster.address, namespace="dgm", log_to_driver=False)
        yield handle
    finally:
        ray.shutdown()
        cluster.shutdown()
        os.environ.pop("OPENAI_API_KEY", None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def node_pids(node: Any) -> list[int]:
    """Every live process of one Ray node: its raylet and what the raylet started (workers)."""
    pids = []
    for infos in node.all_processes.values():
        for info in infos:
            if info.process is not None and info.process.poll() is None:
                pids.extend(descendants(info.process.pid))
    return sorted(set(pids))
