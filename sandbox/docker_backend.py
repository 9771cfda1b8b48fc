"""The Docker backend: hardened containers (SECURITY.md defaults) driven through the runner.

The container's main process only sleeps; a long-lived `docker exec` of the runner carries
every request over one socket, so a command costs no extra exec round-trip and a hung
command is killed inside by the runner, or with the whole container by the host.

A container outlives no one: its main process sleeps for the session's wall time plus a
margin, not forever, and Docker removes it when that process ends (auto-remove). So even
when its owner dies by kill -9 and no dgm command ever runs again, it ends by itself; the
sweep at start-up is the second line of defence.
The docker SDK is imported here only, lazily, so the CLI's other commands never load it.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from dgm.sandbox.docker_errors import docker_errors, one_line as _one_line
from dgm.sandbox.base import BackendUnavailable, Limits, Mount, SandboxError, SandboxStartError
from dgm.sandbox.foreign import WORKSPACE_SEED, ForeignImages
from dgm.sandbox.layout import LABEL, POLYGLOT_IMAGE, check_mounts, RUNNER_ARGV, RUNNER_HOST, RUNNER_PATH, SANDBOX_UID, owner_alive, owner_tag
from dgm.sandbox.protocol import ChannelClosed, ChannelTimeout, DockerExecChannel, ReplyTooLarge
from dgm.sandbox.session import RunnerSession
from dgm.sandbox.warm_pool import Shape, Warm, WarmPool, runner_answers, shape_of

_swept = False
SELF_END_MARGIN = 15.0
"""Seconds a container lives past its session's wall-time limit when nobody removes it."""


def start_failures() -> tuple[type[BaseException], ...]:
    """What may end a sandbox's start: the daemon's refusals, a runner that does not answer."""
    return (*docker_errors(), ChannelClosed, ChannelTimeout, ReplyTooLarge, SandboxStartError)


def connect() -> Any:
    """A docker client whose daemon answers.

    Raises: SandboxError with one line when the SDK or the daemon is missing.
    """
    try:
        import docker
    except ImportError:
        raise SandboxError("the docker Python SDK is not installed (pip install docker)") from None
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker_errors() as exc:
        raise SandboxError(f"no Docker daemon answers ({type(exc).__name__}); start it: dockerd &") from None
    return client


def main_command(limits: Limits, idle: float = 0.0) -> list[str]:
    """The container's main process: it ends the container at the wall time plus a margin
    (plus the longest a warm container may wait for its session).
    The 's' suffix tells it apart from an agent's `sleep N` in a process list."""
    return ["sleep", f"{int(limits.wall_seconds + SELF_END_MARGIN + idle)}s"]


def container_config(
    image: str, limits: Limits, mounts: Sequence[Mount], labels: dict[str, str], runtime: str | None, idle: float = 0.0
) -> dict[str, Any]:
    """The keyword arguments of containers.create: every SECURITY.md default in one place."""
    from docker.types import LogConfig
    from docker.types import Mount as DockerMount
    from docker.types import Ulimit

    tmpfs_opts = "rw,exec,nosuid,nodev,mode=1777"
    binds = [DockerMount(RUNNER_PATH, str(RUNNER_HOST), type="bind", read_only=True)]
    for m in mounts:
        binds.append(DockerMount(m.sandbox_path, str(Path(m.host_path).resolve()), type="bind", read_only=m.read_only))
    config: dict[str, Any] = dict(
        image=image,
        command=main_command(limits, idle),
        auto_remove=True,
        user=f"{SANDBOX_UID}:{SANDBOX_UID}",
        working_dir="/work",
        hostname="sandbox",
        network_mode="none",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        init=True,
        ipc_mode="private",
        pids_limit=limits.pids,
        mem_limit=f"{limits.memory_mb}m",
        memswap_limit=f"{limits.memory_mb}m",
        nano_cpus=int(limits.cpus * 1e9),
        ulimits=[
            Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
            Ulimit(name="fsize", soft=limits.fsize_mb << 20, hard=limits.fsize_mb << 20),
            Ulimit(name="core", soft=0, hard=0),
        ],
        tmpfs={"/work": f"{tmpfs_opts},size={limits.work_mb}m", "/tmp": f"{tmpfs_opts},size={limits.tmp_mb}m"},
        mounts=binds,
        log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        labels=labels,
        environment={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp"},
        detach=True,
    )
    if runtime:
        config["runtime"] = runtime
    return config


class DockerSession(RunnerSession):
    backend_name = "docker"

    def __init__(self, session_id: str, container: Any, channel: DockerExecChannel, limits: Limits,
                 release: Callable[[], None] | None = None) -> None:
        self._container = container
        self._oom_file = _find_oom_file(container.id)
        self._oom_seen = 0
        super().__init__(session_id, channel, limits, release)

    def _kill(self) -> None:
        """remove(force=True) kills and removes; when Docker says a removal is already under
        way, wait (10 s at most) for the container to be gone. If the daemon itself is gone,
        the start-up sweep of the next process removes the container."""
        import docker.errors

        try:
            self._container.remove(force=True)
            return
        except docker.errors.NotFound:
            return
        except docker_errors():
            pass  # fall through: wait for the removal that is in progress
        for _ in range(100):
            try:
                self._container.reload()
            except docker_errors():
                return
            time.sleep(0.1)

    def _outage(self) -> bool:
        """The daemon does not answer, or our container is gone or stopped while we did not
        remove it (a daemon restart stops and auto-removes every container). A runner that
        agent code killed leaves the container running: that is the command's doing."""
        import docker.errors

        try:
            self._container.client.ping()
            self._container.reload()
        except docker.errors.NotFound:
            return True
        except docker_errors():
            return True
        return self._container.status != "running"

    def _oom_events(self) -> int:
        """The cgroup's oom_kill counter when the host shows it, else Docker's OOMKilled flag."""
        if self._oom_file is not None:
            try:
                for line in self._oom_file.read_text().splitlines():
                    if line.startswith("oom_kill "):
                        self._oom_seen = int(line.split()[1])
            except OSError:
                pass
            return self._oom_seen
        try:
            self._container.reload()
            self._oom_seen = max(self._oom_seen, int(bool(self._container.attrs["State"].get("OOMKilled"))))
        except docker_errors():
            pass
        return self._oom_seen


def _find_oom_file(container_id: str) -> Path | None:
    candidates = [
        f"/sys/fs/cgroup/memory/docker/{container_id}/memory.oom_control",
        f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.events",
        f"/sys/fs/cgroup/docker/{container_id}/memory.events",
    ]
    return next((Path(p) for p in candidates if Path(p).exists()), None)


class DockerBackend:
    """Sessions as hardened containers of `image`. Constructing one sweeps the leftovers of
    crashed owners (containers whose owning process is gone). With `warm` > 0, up to that many
    containers are started ahead of demand (see warm_pool); `close` discards them.

    Raises: SandboxError when no daemon answers; SandboxStartError when the image is missing.
    """

    name = "docker"

    def __init__(self, image: str, warm: int = 0) -> None:
        global _swept
        self.image = image
        self.client = connect()
        try:
            self.client.images.get(image)
            info = self.client.info()
        except docker_errors():
            how = "dgm sandbox build --image polyglot" if image == POLYGLOT_IMAGE else "dgm sandbox build"
            raise SandboxStartError(f"the sandbox image {image} is missing; build it: {how}") from None
        self.runtime = "runsc" if "runsc" in (info.get("Runtimes") or {}) else None
        self.foreign = ForeignImages(self.client, image)
        self._gate = threading.Condition()
        self._starting = 0
        self._closing = False
        if not _swept:
            _swept = True
            try:
                self.sweep()
            except SandboxError as exc:  # a second line of defence: never the reason a command ends
                sys.stderr.write(f"dgm: warning: {exc}\n")
        self._pool = WarmPool(self._make_warm, self._discard_warm, runner_answers, warm) if warm > 0 else None

    def start(
        self, limits: Limits | None = None, mounts: Sequence[Mount] = (), labels: Mapping[str, str] | None = None
    ) -> DockerSession:
        """Start a container and its runner (or take a warm one of the same shape).

        Raises: SandboxStartError; BackendUnavailable (a subclass) when the daemon does not answer.
        """
        limits = limits or Limits()
        session_id = uuid.uuid4().hex[:12]
        all_labels = _labels(session_id, labels)
        check_mounts(mounts)
        warm = self._pool.serve(shape_of(self.image, limits, mounts, all_labels["dgm.run"]), mounts) if self._pool else None
        if warm is not None and self._pool is not None:
            return DockerSession(warm.session_id, warm.container, warm.channel, limits, partial(self._pool.release, warm))
        container, channel = self._launch(limits, mounts, all_labels)
        session = DockerSession(session_id, container, channel, limits)
        if limits.workspace_source is not None:
            _seed_workspace(session)
        return session

    def close(self) -> None:
        """Discard the warm containers and stop making them (sessions in use are untouched)."""
        if self._pool is not None:
            self._pool.close()

    def _launch(self, limits: Limits, mounts: Sequence[Mount], labels: dict[str, str], idle: float = 0.0) -> tuple[Any, DockerExecChannel]:
        """Create and start a container, start its runner, and see it answer.

        Raises: SandboxStartError; BackendUnavailable when the daemon does not answer.
        """
        with self._gate:
            if self._closing:
                raise SandboxStartError("the sandbox backend is shutting down")
            self._starting += 1
        container = None
        image, runner_argv, extra = self.image, RUNNER_ARGV, []
        try:
            try:
                if limits.image is not None or limits.workspace_source is not None:
                    prepared = self.foreign.prepare(limits.image or self.image, limits.workspace_source)
                    image, runner_argv, extra = prepared.image, prepared.runner_argv, prepared.mounts
                config = container_config(image, limits, [*extra, *mounts], labels, self.runtime, idle)
                container = self.client.containers.create(**config)
            finally:  # the create is what a hard stop waits for: after it, a listing finds the container
                with self._gate:
                    self._starting -= 1
                    self._gate.notify_all()
                    closing = self._closing
            if closing:  # a hard stop began while Docker made it; its sweep may have missed it
                raise SandboxStartError("the sandbox backend is shutting down")
            container.start()
            exec_id = self.client.api.exec_create(container.id, runner_argv, stdin=True, stdout=True, stderr=False)
            sock = self.client.api.exec_start(exec_id, socket=True)
            channel = DockerExecChannel(getattr(sock, "_sock", sock))
            channel.request({"op": "ping"}, b"", time.monotonic() + 30, 0)
        except start_failures() as exc:
            if container is not None:
                try:
                    _remove_if_present(self.client, container.id)
                except docker_errors():
                    pass  # the daemon is gone: the container never started, a later sweep removes it
            if isinstance(exc, BackendUnavailable):
                raise
            # Preparing an image may fail for the same reason as the create: ask the daemon.
            if _unreachable(exc) or not self.answers():
                raise BackendUnavailable(f"cannot start a Docker sandbox: the daemon does not answer ({_one_line(exc)})") from None
            if isinstance(exc, SandboxStartError):
                raise
            raise SandboxStartError(f"cannot start a Docker sandbox: {_one_line(exc)}") from None
        return container, channel

    # -- the warm pool's hooks --------------------------------------------------------------
    def _make_warm(self, shape: Shape, folders: list[Path]) -> Warm:
        session_id = uuid.uuid4().hex[:12]
        labels = _labels(session_id, {"run": shape.run, "purpose": "warm"})
        mounts = [Mount(folder, target) for folder, target in zip(folders, shape.targets)]
        container, channel = self._launch(shape.limits, mounts, labels, idle=self._pool.max_idle if self._pool else 0.0)
        return Warm(session_id, container, channel, folders)

    def _discard_warm(self, warm: Warm) -> None:
        warm.channel.close()
        try:
            _remove_if_present(self.client, warm.container.id)
        except docker_errors():
            pass  # the daemon is gone; the container ends by itself, a later sweep removes it

    def answers(self) -> bool:
        """Whether the daemon answers now (it may be restarting). Asked on a new connection:
        a daemon shutting down has closed its socket but still serves the kept-alive ones."""
        import docker

        try:
            from docker.utils import kwargs_from_env

            fresh = docker.APIClient(**kwargs_from_env(), version=self.client.api.api_version, timeout=5)
        except docker_errors():
            return False
        try:
            return bool(fresh.ping())
        except docker_errors():
            return False
        finally:
            fresh.close()

    def sweep(self, run_id: str | None = None, include_own: bool = False) -> int:
        """Remove containers of this project whose owning process is gone (one run's only
        when `run_id` is given), and with `include_own` every container of this process,
        whatever run or purpose it carries. Live sessions of other dgm processes, on this
        host or another sharing the engine, are left alone; a container that vanishes
        meanwhile (its owner removed it) is simply skipped.

        Returns how many removals the engine confirmed. With several sweeps at once the sum
        may exceed the containers there were: Docker answers success to a removal whose
        container another request removed after this one looked it up.

        Raises: SandboxError only when the engine cannot be asked at all.
        """
        own = owner_tag()
        if include_own:  # no new session may appear behind the sweep's back
            with self._gate:
                self._closing = True
                # a create in flight must finish first: a container made after the listing would
                # be left 'created', never started, so never ending by itself (start() checks too)
                self._gate.wait_for(lambda: self._starting == 0, timeout=10)
            if self._pool is not None:
                self._pool.close()
        removed = 0
        try:
            for cid, labels in _listed(self.client):
                owner = labels.get("dgm.owner", "")
                if include_own and owner == own:
                    pass
                elif owner == own or owner_alive(owner) or (run_id and labels.get("dgm.run") != run_id):
                    continue
                if _remove_if_present(self.client, cid):
                    removed += 1
            if include_own:
                self._settle(own)
        except docker_errors() as exc:
            raise SandboxError(f"sweeping leftover containers failed: {_one_line(exc)}") from None
        return removed

    def _settle(self, own: str, seconds: float = 10.0) -> None:
        """Wait until this process's containers are really gone: a session closing itself at
        the same moment may have its removal still under way, and Docker finishes it only
        while someone keeps asking."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            left = [cid for cid, labels in _listed(self.client) if labels.get("dgm.owner") == own]
            if not left:
                return
            for cid in left:
                _remove_if_present(self.client, cid)
            time.sleep(0.2)


def _labels(session_id: str, labels: Mapping[str, str] | None) -> dict[str, str]:
    """A container's labels: the caller's (as dgm.*), the project's mark, the session, the owner."""
    all_labels = {f"dgm.{k}": str(v) for k, v in (labels or {}).items()}
    all_labels.update({LABEL: "1", "dgm.session": session_id, "dgm.owner": owner_tag()})
    all_labels.setdefault("dgm.run", "none")
    return all_labels


def _seed_workspace(session: DockerSession) -> None:
    """Copy the image's pristine workspace source into /work (as the sandbox user).

    Raises: SandboxStartError (and closes the session) when the copy fails.
    """
    # Entry by entry: /work itself (a tmpfs root) keeps its own times and mode.
    script = 'cd "$1" && for f in * .[!.]* ..?*; do [ -e "$f" ] || [ -L "$f" ] || continue; cp -a --no-preserve=ownership "$f" /work/ || exit 1; done'
    result = session.exec(["sh", "-c", script, "seed", WORKSPACE_SEED], timeout=600)
    if not result.ok:
        session.close()
        tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [result.exit_reason]
        raise SandboxStartError(f"cannot copy the workspace into the sandbox: {tail[0][:200]}")


def _listed(client: Any) -> list[tuple[str, dict[str, str]]]:
    """(id, labels) of every container of this project, from one list call: no per-container
    inspect, so a container removed meanwhile cannot fail the listing."""
    rows = client.api.containers(all=True, filters={"label": [f"{LABEL}=1"]})
    return [(row["Id"], row.get("Labels") or {}) for row in rows]


def _remove_if_present(client: Any, container_id: str) -> bool:
    """Force-remove; a container already gone, or already being removed (by its own
    session's close() or by auto-remove), counts as done rather than as a failure."""
    import docker.errors

    try:
        client.api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        if exc.status_code == 409:  # "removal ... is already in progress"
            return False
        raise
    return True


def _unreachable(exc: BaseException) -> bool:
    """A connection-level failure (the daemon's socket is gone or hung up), not a refusal."""
    import docker.errors

    return isinstance(exc, docker_errors()) and not isinstance(exc, docker.errors.DockerException)
