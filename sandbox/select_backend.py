"""Choosing the isolation backend: Docker when it answers and has the image, else
bubblewrap when it works, else a clear refusal. Never the bare host."""

from __future__ import annotations

from dataclasses import dataclass

from dgm.sandbox.base import Backend, NoBackendError, SandboxError
from dgm.sandbox.layout import DEFAULT_IMAGE

BACKENDS = ("docker", "bwrap")


@dataclass(frozen=True)
class BackendStatus:
    name: str
    usable: bool
    detail: str
    """What it runs on when usable; otherwise what is missing and how to install it."""


def docker_status(image: str = DEFAULT_IMAGE) -> BackendStatus:
    from dgm.sandbox.docker_backend import DockerBackend

    try:
        backend = DockerBackend(image)
    except SandboxError as exc:
        return BackendStatus("docker", False, str(exc))
    runtime = backend.runtime or "runc"
    return BackendStatus("docker", True, f"image {image}, runtime {runtime}")


def bwrap_status() -> BackendStatus:
    from dgm.sandbox.bwrap_backend import bwrap_limits_note, bwrap_problem
    from dgm.sandbox.layout import rootfs_dir

    problem = bwrap_problem()
    return BackendStatus("bwrap", problem is None, problem or f"root filesystem {rootfs_dir()}; {bwrap_limits_note()}")


def describe_backends(image: str = DEFAULT_IMAGE) -> list[BackendStatus]:
    """Every backend with whether it works here and why (for `dgm sandbox check`)."""
    return [docker_status(image), bwrap_status()]


def open_backend(name: str = "auto", image: str = DEFAULT_IMAGE, warm: int = 0) -> Backend:
    """The backend to run agent code with, keeping `warm` sandboxes started ahead of demand.

    Raises: NoBackendError naming what is missing and how to install it.
    """
    if name not in ("auto", *BACKENDS):
        raise NoBackendError(f"unknown sandbox backend '{name}': choose auto, docker or bwrap")
    problems = []
    if image != DEFAULT_IMAGE and name in ("auto", "bwrap"):
        if name == "bwrap":
            raise NoBackendError(f"the bwrap backend runs only the default root filesystem, not the image {image}: use docker")
        name = "docker"  # bwrap has no other root filesystem: never fall back to a wrong one
    if name in ("auto", "docker"):
        from dgm.sandbox.docker_backend import DockerBackend

        try:
            return DockerBackend(image, warm=warm)
        except SandboxError as exc:
            problems.append(f"docker: {exc}")
    if name in ("auto", "bwrap"):
        from dgm.sandbox.bwrap_backend import BwrapBackend

        try:
            return BwrapBackend(warm=warm)
        except SandboxError as exc:
            problems.append(f"bwrap: {exc}")
    hint = "install Docker (apt-get install docker.io) or bubblewrap (apt-get install bubblewrap), then: dgm sandbox build"
    raise NoBackendError(f"no sandbox backend works, refusing to run agent code ({'; '.join(problems)}); {hint}")
