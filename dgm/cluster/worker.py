"""`dgm worker` and `dgm cluster`: a machine joins the cluster only after its sandbox proves
itself here, and the head can see what each node runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dgm.cluster.errors import ClusterError

SECRET_ENV = re.compile(r"(_API_KEY|_KEY|_TOKEN|_SECRET|_PASSWORD)$|^(AWS|AZURE|GOOGLE|OPENAI|ANTHROPIC)_", re.I)
"""Environment variables a worker's Ray processes never inherit: a worker needs no key, and
whatever its raylet holds, every task on it could read."""


def prepare_sandbox(backend: str, image: str) -> str:
    """Make this machine's sandbox work (build the image or root filesystem if missing) and
    pass the self-check; returns the backend's name.

    Raises: ClusterError naming the failed check or the missing piece.
    """
    from dgm.sandbox import SandboxError, open_backend
    from dgm.sandbox.selfcheck import run_self_check

    try:
        chosen = open_backend(backend, image=image)
    except SandboxError:
        _build(backend, image)
        try:
            chosen = open_backend(backend, image=image)
        except SandboxError as exc:
            raise ClusterError(f"this machine cannot host sandboxes: {exc}") from None
    try:
        failed = [r for r in run_self_check(chosen) if not r.passed]
    except SandboxError as exc:
        raise ClusterError(f"the sandbox self-check could not run: {exc}") from None
    if failed:
        raise ClusterError("the sandbox self-check failed: " + "; ".join(f"{r.name} ({r.detail})" for r in failed))
    return chosen.name


def _build(backend: str, image: str) -> None:
    from dgm.sandbox import SandboxError
    from dgm.sandbox.image_build import build_image, build_rootfs

    steps = ([lambda: build_image(image)] if backend in ("auto", "docker") else []) + \
            ([build_rootfs] if backend in ("auto", "bwrap") else [])
    for step in steps:
        try:
            step()
            return
        except SandboxError:
            continue


def ray_start_argv(address: str, slots: int) -> list[str]:
    ray = Path(sys.executable).with_name("ray")
    exe = str(ray) if ray.exists() else (shutil.which("ray") or "ray")
    return [exe, "start", "--address", address, "--num-cpus", str(slots),
            "--resources", json.dumps({"dgm_sandbox": slots}), "--disable-usage-stats"]


def worker_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not SECRET_ENV.search(k)}


def join(address: str, slots: int, backend: str, image: str) -> str:
    """Check the sandbox, then start Ray here as a node of the cluster at `address` offering
    `slots` sandboxes. Returns the backend's name.

    Raises: ClusterError.
    """
    name = prepare_sandbox(backend, image)
    try:
        done = subprocess.run(ray_start_argv(address, slots), env=worker_env(), capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"'ray start' could not run: {exc} (install with: pip install 'dgm[ray]')") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ClusterError(f"'ray start --address {address}' failed: {last[0]}")
    return name


@dataclass
class NodeView:
    node_id: str
    host: str
    alive: bool
    slots: int
    running: list[dict[str, str]] = field(default_factory=list)
    backend: str = ""
    silent_hosts: int = 0
    """Runs' hosts on this node that did not answer in time (busy, starting, or dying)."""


VIEW_SECONDS = 15.0
"""How long `dgm cluster` waits for all hosts together: every host is asked at once."""


def cluster_view(seconds: float = VIEW_SECONDS) -> list[NodeView]:
    """Every node of the connected cluster: its slots, and the sessions each run's hosts hold.
    All hosts are asked at once, so one slow host costs its own answer, not everyone's."""
    import ray

    from dgm.cluster.ray_backend import HOST_PREFIX, RESOURCE

    views = {n["NodeID"]: NodeView(n["NodeID"], n.get("NodeManagerHostname", "?"), bool(n.get("Alive")),
                                   int(n.get("Resources", {}).get(RESOURCE, 0))) for n in ray.nodes()}
    asked: list[tuple[str, Any, Any]] = []
    for entry in ray.util.list_named_actors(all_namespaces=False):
        name = entry if isinstance(entry, str) else entry.get("name", "")
        if not name.startswith(HOST_PREFIX):
            continue
        try:
            host = ray.get_actor(name)
            asked.append((name.rpartition(":")[2], host.describe.remote(), host.running.remote()))
        except Exception:  # noqa: BLE001 - a host that died since it was listed shows nothing
            continue
    refs = [ref for _, describe, running in asked for ref in (describe, running)]
    ready = set(ray.wait(refs, num_returns=len(refs), timeout=seconds)[0]) if refs else set()
    for node_id, describe, running in asked:
        try:
            if describe not in ready or running not in ready:
                raise TimeoutError
            about: Any = ray.get(describe)
            sessions = ray.get(running)
        except Exception:  # noqa: BLE001 - a host that does not answer is counted, not shown
            if node_id in views:
                views[node_id].silent_hosts += 1
            continue
        view = views.get(about["node"])
        if view is not None:
            view.backend = about["backend"]
            view.running.extend(sessions)
    return sorted(views.values(), key=lambda v: (not v.alive, v.host, v.node_id))
