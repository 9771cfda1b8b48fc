"""The Docker backend: hardened containers (SECURITY.md defaults) driven through the runner.

The container's main process only sleeps; a long-lived `docker exec` of the runner carries
every request over one socket, so a command costs no extra exec round-trip and a hung
command is killed inside by the runner, or with the whole container by the host.
The docker SDK is imported here only, lazily, so the CLI's other commands never load it.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any, Mapping, Sequence

from dgm.sandbox.base import Limits, Mount, SandboxError, SandboxStartError
from dgm.sandbox.layout import LABEL, check_mounts, RUNNER_ARGV, RUNNER_HOST, RUNNER_PATH, SANDBOX_UID, owner_alive, owner_tag
from dgm.sandbox.protocol import ChannelClosed, ChannelTimeout, DockerExecChannel, ReplyTooLarge
from dgm.sandbox.session import RunnerSession

_swept = False


def docker_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean 'the daemon said no or is gone' (not a bug of ours)."""
    import docker.errors
    import requests.exceptions

    return (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


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


def container_config(
    image: str, limits: Limits, mounts: Sequence[Mount], labels: dict[str, str], runtime: str | None
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
        command=["sleep", "infinity"],
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

    def __init__(self, session_id: str, container: Any, channel: DockerExecChannel, limits: Limits) -> None:
        self._container = container
        self._oom_file = _find_oom_file(container.id)
        self._oom_seen = 0
        super().__init__(session_id, channel, limits)

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
    crashed owners (containers whose owning process is gone).

    Raises: SandboxError when no daemon answers; SandboxStartError when the image is missing.
    """

    name = "docker"

    def __init__(self, image: str) -> None:
        global _swept
        self.image = image
        self.client = connect()
        try:
            self.client.images.get(image)
            info = self.client.info()
        except docker_errors():
            raise SandboxStartError(f"the sandbox image {image} is missing; build it: dgm sandbox build") from None
        self.runtime = "runsc" if "runsc" in (info.get("Runtimes") or {}) else None
        self._gate = threading.Condition()
        self._starting = 0
        self._closing = False
        if not _swept:
            _swept = True
            self.sweep()

    def start(
        self, limits: Limits | None = None, mounts: Sequence[Mount] = (), labels: Mapping[str, str] | None = None
    ) -> DockerSession:
        """Start a container and its runner.

        Raises: SandboxStartError.
        """
        limits = limits or Limits()
        session_id = uuid.uuid4().hex[:12]
        all_labels = {f"dgm.{k}": str(v) for k, v in (labels or {}).items()}
        all_labels.update({LABEL: "1", "dgm.session": session_id, "dgm.owner": owner_tag()})
        all_labels.setdefault("dgm.run", "none")
        check_mounts(mounts)
        with self._gate:
            if self._closing:
                raise SandboxStartError("the sandbox backend is shutting down")
            self._starting += 1
        container = None
        try:
            container = self.client.containers.create(**container_config(self.image, limits, mounts, all_labels, self.runtime))
            container.start()
            exec_id = self.client.api.exec_create(container.id, RUNNER_ARGV, stdin=True, stdout=True, stderr=False)
            sock = self.client.api.exec_start(exec_id, socket=True)
            channel = DockerExecChannel(getattr(sock, "_sock", sock))
            channel.request({"op": "ping"}, b"", time.monotonic() + 30, 0)
        except (*docker_errors(), ChannelClosed, ChannelTimeout, ReplyTooLarge) as exc:
            if container is not None:
                try:
                    container.remove(force=True)
                except docker_errors():
                    pass
            raise SandboxStartError(f"cannot start a Docker sandbox: {_one_line(exc)}") from None
        finally:
            with self._gate:
                self._starting -= 1
                self._gate.notify_all()
        return DockerSession(session_id, container, channel, limits)

    def sweep(self, run_id: str | None = None, include_own: bool = False) -> int:
        """Remove containers of this project whose owning process is gone (one run's only
        when `run_id` is given), and with `include_own` every container of this process,
        whatever run or purpose it carries. Live sessions of other processes are left alone."""
        own = owner_tag()
        if include_own:  # no new session may appear behind the sweep's back
            with self._gate:
                self._closing = True
                self._gate.wait_for(lambda: self._starting == 0, timeout=30)
        removed = 0
        try:
            for container in self.client.containers.list(all=True, filters={"label": [f"{LABEL}=1"]}, ignore_removed=True):
                owner = container.labels.get("dgm.owner", "")
                if include_own and owner == own:
                    pass
                elif owner_alive(owner) or (run_id and container.labels.get("dgm.run") != run_id):
                    continue
                if _remove_if_present(container):
                    removed += 1
            if include_own:
                self._settle([f"{LABEL}=1"], own)
        except docker_errors() as exc:
            raise SandboxError(f"sweeping leftover containers failed: {_one_line(exc)}") from None
        return removed

    def _settle(self, filters: list[str], own: str, seconds: float = 15.0) -> None:
        """Wait until this process's containers are really gone: a session closing itself at
        the same moment may have its removal still under way, and Docker finishes it only
        while someone keeps asking."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            left = [c for c in self.client.containers.list(all=True, filters={"label": filters}, ignore_removed=True) if c.labels.get("dgm.owner") == own]
            if not left:
                return
            for container in left:
                _remove_if_present(container)
            time.sleep(0.2)


def _remove_if_present(container: Any) -> bool:
    """Force-remove; a container already gone, or already being removed by its own session's
    close(), counts as done rather than as a failure."""
    import docker.errors

    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        if exc.status_code == 409:  # "removal ... is already in progress"
            return False
        raise
    return True


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
