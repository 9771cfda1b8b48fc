"""Building the sandbox's root filesystem and image, with or without a registry.

One Debian root filesystem (debootstrap, kept in the cache dir) serves both backends: the
bubblewrap backend binds it read-only, and the offline Docker build imports it as the image,
so both run the same Python. Builds are idempotent: a version label (a hash of the recipe
and the runner) says whether the existing image is current.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from dgm.sandbox.base import SandboxError
from dgm.sandbox.layout import (
    TRUSTED_PYTHON,
    MOUNT_POINTS,
    RUNNER_HOST,
    RUNNER_PATH,
    SANDBOX_UID,
    SANDBOX_USER,
    cache_dir,
    rootfs_dir,
)

SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
DEBOOTSTRAP = ["debootstrap", "--variant=minbase", "--include=python3,git", SUITE]
ROOTFS_RECIPE = f"1:{' '.join(DEBOOTSTRAP)}:{SANDBOX_USER}:{SANDBOX_UID}:{','.join(MOUNT_POINTS)}"
IMAGE_RECIPE = "4:work-1777:python:python-private"
"""Bump when finish_rootfs or the import changes: the version label then asks for a rebuild."""
VERSION_LABEL = "dgm.image.version"
DOCKERFILE_DIR = Path(__file__).parent
BASE_IMAGE = ("python", "3.11-slim")
PRUNE = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale")


class BuildError(SandboxError):
    """The image or the root filesystem could not be built."""


@dataclass(frozen=True)
class BuildReport:
    what: str
    """'rootfs' or 'image'."""
    action: str
    """'built' or 'up to date'."""
    detail: str = ""


def rootfs_stamp() -> str:
    return hashlib.sha256(ROOTFS_RECIPE.encode()).hexdigest()[:16]


def image_version() -> str:
    """Changes when the recipe or the runner changes."""
    digest = hashlib.sha256(f"{ROOTFS_RECIPE}|{IMAGE_RECIPE}|".encode() + RUNNER_HOST.read_bytes())
    return digest.hexdigest()[:16]


def rootfs_ready(root: Path | None = None) -> bool:
    root = root or rootfs_dir()
    stamp = root / ".dgm-rootfs"
    return stamp.is_file() and stamp.read_text().strip() == rootfs_stamp()


@contextmanager
def build_lock() -> Iterator[None]:
    """One build at a time per cache dir (tests and `make` may both ask for one)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / ".build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build_rootfs(force: bool = False) -> BuildReport:
    """Debootstrap the root filesystem into the cache dir, add the user, the mount points and
    the runner. Takes about 35 s from Debian's mirror; skipped when current.

    Raises: BuildError when debootstrap is missing, we are not root, or it fails.
    """
    root = rootfs_dir()
    with build_lock():
        if rootfs_ready(root) and not force:
            finish_rootfs(root)  # cheap, and keeps an older rootfs in step with this runner
            return BuildReport("rootfs", "up to date", str(root))
        if shutil.which("debootstrap") is None:
            raise BuildError("debootstrap is missing: apt-get install debootstrap")
        if os.geteuid() != 0:
            raise BuildError("debootstrap needs root: run 'sudo dgm sandbox build'")
        tmp = root.with_name("rootfs.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        proc = subprocess.run([*DEBOOTSTRAP, str(tmp), MIRROR], capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            raise BuildError(f"debootstrap failed: {tail[0]}")
        customise_rootfs(tmp)
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return BuildReport("rootfs", "built", str(root))


def customise_rootfs(root: Path) -> None:
    """The non-root user, the mount points, the runner; drop package caches and docs."""
    with open(root / "etc/passwd", "a") as f:
        f.write(f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_UID}:dgm sandbox:/tmp:/bin/sh\n")
    with open(root / "etc/group", "a") as f:
        f.write(f"{SANDBOX_USER}:x:{SANDBOX_UID}:\n")
    for rel in PRUNE:
        for child in (root / rel).glob("*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    for point in MOUNT_POINTS:
        (root / point.lstrip("/")).mkdir(parents=True, exist_ok=True)
    finish_rootfs(root)
    (root / ".dgm-rootfs").write_text(rootfs_stamp() + "\n")


def finish_rootfs(root: Path) -> None:
    """The steps redone at every image import (cheap): the current runner, and a /work that
    the sandbox user can write (Docker gives a tmpfs the mode of the directory beneath it)."""
    (root / "work").chmod(0o1777)
    python = root / "usr/bin/python"
    if not python.exists() and not python.is_symlink():
        python.symlink_to("python3")  # the agent contract runs `python agent.py`
    private = root / TRUSTED_PYTHON.lstrip("/")
    _install(_in_root(root, "usr/bin/python3").read_bytes(), private, 0o111)  # execute-only: see TRUSTED_PYTHON
    _install(RUNNER_HOST.read_bytes(), root / RUNNER_PATH.lstrip("/"), 0o755)


def _install(data: bytes, target: Path, mode: int) -> None:
    """Put a root-owned file in place atomically (running sandboxes may be executing the old
    one: it is replaced, never rewritten), and only when it changed."""
    if target.is_file() and target.stat().st_mode & 0o7777 == mode and _same_bytes(target, data):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".new")
    tmp.write_bytes(data)
    os.chown(tmp, 0, 0)
    tmp.chmod(mode)
    os.replace(tmp, target)


def _same_bytes(path: Path, data: bytes) -> bool:
    """(The build runs as root, which reads even the execute-only copy.)"""
    return path.stat().st_size == len(data) and path.read_bytes() == data


def _in_root(root: Path, rel: str) -> Path:
    """Follow symlinks as the sandbox would see them: absolute targets are inside `root`."""
    path = root / rel
    for _ in range(16):
        if not path.is_symlink():
            return path
        target = os.readlink(path)
        path = root / target.lstrip("/") if target.startswith("/") else path.parent / target
    raise BuildError(f"too many symlinks resolving /{rel} in {root}")


def image_current(client: object, image: str) -> bool:
    import docker.errors

    try:
        found = client.images.get(image)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        return False
    return (found.labels or {}).get(VERSION_LABEL) == image_version()


def build_image(image: str, force: bool = False, method: str = "auto") -> BuildReport:
    """Build the Docker image: from sandbox/Dockerfile when the base image can be had
    (method 'dockerfile', or 'auto' with a registry), else offline from the root filesystem.

    Raises: BuildError (and SandboxError when no daemon answers).
    """
    from dgm.sandbox.docker_backend import connect, docker_errors

    client = connect()
    with build_lock():
        if not force and image_current(client, image):
            return BuildReport("image", "up to date", image)
    if method in ("auto", "dockerfile") and base_image_available(client, pull=True):
        repo, _, tag = image.partition(":")
        try:
            client.images.build(
                path=str(DOCKERFILE_DIR), dockerfile="Dockerfile", tag=image, rm=True,
                labels={VERSION_LABEL: image_version()},
            )
        except docker_errors() as exc:
            raise BuildError(f"docker build failed: {str(exc).splitlines()[0]}") from None
        prune_old_images(client)
        return BuildReport("image", "built", f"{image} from sandbox/Dockerfile")
    if method == "dockerfile":
        raise BuildError(f"the base image {':'.join(BASE_IMAGE)} cannot be pulled (no registry?); use --method offline")
    build_rootfs()
    import_rootfs(client, image)
    return BuildReport("image", "built", f"{image} offline from {rootfs_dir()} (debootstrap + import)")


def base_image_available(client: object, pull: bool) -> bool:
    from dgm.sandbox.docker_backend import docker_errors

    try:
        client.images.get(":".join(BASE_IMAGE))  # type: ignore[attr-defined]
        return True
    except docker_errors():
        pass  # not here: try the registry
    if not pull:
        return False
    try:
        client.images.pull(*BASE_IMAGE)  # type: ignore[attr-defined]
        return True
    except docker_errors():
        return False


def import_rootfs(client: object, image: str) -> None:
    """`tar -C ROOTFS -c . | docker import` with the user, workdir and version label set.

    Raises: BuildError.
    """
    from dgm.sandbox.docker_backend import docker_errors

    root = rootfs_dir()
    repo, _, tag = image.partition(":")
    changes = [
        f"USER {SANDBOX_UID}:{SANDBOX_UID}",
        "WORKDIR /work",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["sleep", "infinity"]',
        f"LABEL {VERSION_LABEL}={image_version()}",
    ]
    with build_lock():
        finish_rootfs(root)  # the current runner, baked in for users of plain `docker run`
        tar = subprocess.Popen(["tar", "-C", str(root), "--exclude=./.dgm-rootfs", "-c", "."], stdout=subprocess.PIPE)
        try:
            client.api.import_image_from_data(tar.stdout, repository=repo, tag=tag or "latest", changes=changes)  # type: ignore[attr-defined]
        except docker_errors() as exc:
            raise BuildError(f"docker import failed: {str(exc).splitlines()[0]}") from None
        finally:
            tar.stdout.close()  # type: ignore[union-attr]
            tar.wait()
    if not image_current(client, image):
        raise BuildError(f"docker import did not produce {image} with the expected version label")
    prune_old_images(client)


def prune_old_images(client: object) -> None:
    """Remove our earlier builds that a rebuild left untagged (they only take disk)."""
    from dgm.sandbox.docker_backend import docker_errors

    try:
        for old in client.images.list(filters={"dangling": True, "label": VERSION_LABEL}):  # type: ignore[attr-defined]
            client.images.remove(old.id)  # type: ignore[attr-defined]
    except docker_errors():
        pass  # still used by a container, or the daemon is busy: harmless, try next build
