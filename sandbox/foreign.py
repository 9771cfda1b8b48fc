"""Sessions in images that are not the sandbox image (a benchmark's per-instance environments).

Such an image holds none of our parts, and its C library may be older than our Python
needs. Two things, prepared once per machine and cached, make it a sandbox all the same:

- the runtime: the sandbox image's own filesystem, exported once into the cache and
  bind-mounted read-only at RUNTIME_PATH. The runner runs on that Python through that
  filesystem's own dynamic loader, so it needs nothing from the foreign image but a kernel.
  The loader is an execute-only copy: the process exec'd from a file its user cannot read
  is non-dumpable from its first instruction (the TRUSTED_PYTHON argument, layout.py).
- a derived image (`dgm-env:<hash>`), built offline FROM the foreign image with one step
  run by Docker's builder (trusted image content only, never agent code): the mount points
  exist, and the workspace source (e.g. /testbed) is moved to WORKSPACE_SEED, made
  readable, and replaced by a link to /work. Tools installed against the source path
  (editable installs, compiled extensions) then see the session's workspace.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dgm.sandbox.base import Mount, SandboxStartError
from dgm.sandbox.docker_errors import docker_errors, one_line
from dgm.sandbox.layout import MOUNT_POINTS, RUNNER_PATH, cache_dir

RUNTIME_PATH = "/opt/dgm/rt"
WORKSPACE_SEED = "/opt/dgm/seed"
"""Where a derived image keeps the pristine workspace source (read-only, root-owned)."""
RECIPE = "1"
"""Bump when the derived image's recipe changes (its tag includes it)."""
ENV_REPO = "dgm-env"
LOADER = "ld-private"
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")
_IMAGE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,255}$")
"""An image reference, nothing else: it is written into a Dockerfile."""


@dataclass(frozen=True)
class Runtime:
    """An exported copy of the sandbox image, usable from any image of the same machine."""

    root: Path
    python: str
    """The Python binary, relative to the runtime root."""
    library_path: str
    """The loader's search path, as seen inside the session."""

    def runner_argv(self) -> list[str]:
        return [f"{RUNTIME_PATH}/{LOADER}", "--library-path", self.library_path,
                f"{RUNTIME_PATH}/{self.python}", "-I", "-S", RUNNER_PATH]  # fmt: skip


@dataclass(frozen=True)
class Prepared:
    """What a session in a foreign image is started with."""

    image: str
    runner_argv: list[str]
    mounts: list[Mount]


class ForeignImages:
    """Prepares foreign images for one Docker client. Thread-safe; results are cached per
    process (and the runtime and derived images per machine)."""

    SLOW_TIMEOUT = 3600
    """Seconds a pull or a build may stay silent (moving a large repository prints nothing)."""

    def __init__(self, client: Any, sandbox_image: str) -> None:
        self.client = client
        self.sandbox_image = sandbox_image
        self._slow: Any = None
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._prepared: dict[tuple[str, str | None], Prepared] = {}

    def prepare(self, image: str, workspace_source: str | None) -> Prepared:
        """Raises: SandboxStartError (image absent and not pullable, a build that fails)."""
        if not _IMAGE_REF.match(image):
            raise SandboxStartError(f"{image[:100]!r} is not an image reference")
        if workspace_source is not None and not _SAFE_PATH.match(workspace_source):
            raise SandboxStartError(f"workspace source {workspace_source!r} must be a plain absolute path")
        key = (image, workspace_source)
        if key in self._prepared:  # the common case, without waiting behind another image's build
            return self._prepared[key]
        with self._lock:
            if key not in self._prepared:
                runtime = self._runtime = self._runtime or self._export_runtime()
                derived = self._derive(image, self._ensure_pulled(image), workspace_source)
                self._prepared[key] = Prepared(derived, runtime.runner_argv(), [Mount(runtime.root, RUNTIME_PATH)])
            return self._prepared[key]

    def _ensure_pulled(self, image: str) -> str:
        """The image's id, pulling it first when it is not on this machine."""
        import docker.errors

        try:
            return self.client.images.get(image).id
        except docker.errors.ImageNotFound:
            pass
        except docker_errors() as exc:
            raise SandboxStartError(f"cannot inspect the image {image}: {one_line(exc)}") from None
        try:
            return self._slow_client().images.pull(image).id
        except docker_errors() as exc:
            why = str(getattr(exc, "explanation", "") or "").strip().splitlines()[:1] or [one_line(exc)]
            raise SandboxStartError(
                f"the image {image} is not on this machine and cannot be pulled ({why[0][:200]}); "
                "pull it where a registry is reachable, then `docker save` / `docker load` it here"
            ) from None

    def _derive(self, image: str, image_id: str, source: str | None) -> str:
        tag = f"{ENV_REPO}:{hashlib.sha256(f'{RECIPE}|{image_id}|{source}'.encode()).hexdigest()[:20]}"
        import docker.errors

        try:
            self.client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
        except docker_errors() as exc:
            raise SandboxStartError(f"cannot inspect the image {tag}: {one_line(exc)}") from None
        steps = [f"mkdir -p {' '.join(MOUNT_POINTS)}"]
        if source is not None:
            steps += [f"test -d {source}", f"mv {source} {WORKSPACE_SEED}", f"chmod -R a+rX {WORKSPACE_SEED}",
                      f"ln -s /work {source}"]  # fmt: skip
        dockerfile = f"FROM {image}\nUSER root\nRUN set -e; {'; '.join(steps)}\nLABEL dgm.env=1\n"
        try:
            self._slow_client().images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True,
                                             pull=False, network_mode="none")  # fmt: skip
        except docker_errors() as exc:
            raise SandboxStartError(f"cannot prepare an environment from {image}: {one_line(exc)}") from None
        return tag

    def _slow_client(self) -> Any:
        """A client of the same daemon (the environment's, as connect() uses) whose reads may
        wait long (pulls, builds)."""
        if self._slow is None:
            import docker

            self._slow = docker.from_env(timeout=self.SLOW_TIMEOUT)
        return self._slow

    def _export_runtime(self) -> Runtime:
        """The sandbox image's filesystem under the cache, exported once per image id."""
        try:
            image_id = self.client.images.get(self.sandbox_image).id
        except docker_errors() as exc:
            raise SandboxStartError(f"the sandbox image {self.sandbox_image} is missing: {one_line(exc)}") from None
        base = cache_dir() / "runtime"
        root = base / image_id.split(":")[-1][:16]
        if not (root / LOADER).exists():
            base.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=base))
            try:
                self._export_into(tmp)
                _install_loader(tmp)
                try:
                    tmp.rename(root)
                except OSError:  # another process finished first: theirs is as good
                    pass
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        root.chmod(0o755)
        return _describe(root)

    def _export_into(self, dest: Path) -> None:
        try:
            container = self.client.containers.create(self.sandbox_image, command=["true"], network_mode="none")
        except docker_errors() as exc:
            raise SandboxStartError(f"cannot export the sandbox image: {one_line(exc)}") from None
        try:
            stream = _ChunkReader(container.export(chunk_size=1 << 20))
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    if member.isdev() or member.name.startswith(("dev/", "proc/", "sys/")):
                        continue
                    # "tar": our own image, but no setuid/setgid bits or writable modes on the host
                    tar.extract(member, dest, set_attrs=True, filter="tar")
        except docker_errors() + (tarfile.TarError,) as exc:
            raise SandboxStartError(f"cannot export the sandbox image: {one_line(exc)}") from None
        finally:
            try:
                container.remove(force=True)
            except docker_errors():
                pass


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks (docker's export stream)."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buffer))
        b[:n], self._buffer = self._buffer[:n], self._buffer[n:]
        return n


def _loader_file(root: Path) -> Path:
    found = sorted(p for p in root.glob("usr/lib/*-linux-*/ld-linux*.so*") if p.is_file() and not p.is_symlink())
    if not found:
        found = sorted(p for p in root.glob("lib*/ld-linux*.so*") if p.is_file() and not p.is_symlink())
    if not found:
        raise SandboxStartError(f"no dynamic loader in the exported sandbox image at {root}")
    return found[0]


def _install_loader(root: Path) -> None:
    """An execute-only copy of the loader at the runtime's root (see the module docstring)."""
    target = root / LOADER
    shutil.copyfile(_loader_file(root), target)
    target.chmod(0o111)
    if os.geteuid() == 0:
        os.chown(target, 0, 0)


def _describe(root: Path) -> Runtime:
    python = None
    for rel in ("usr/local/bin/python3", "usr/bin/python3"):
        path = root / rel
        for _ in range(8):  # python3 -> python3.11: relative links in one directory
            if not path.is_symlink():
                break
            target = os.readlink(path)
            path = root / target.lstrip("/") if target.startswith("/") else path.parent / target
        if path.is_file():
            python = path.relative_to(root).as_posix()
            break
    if python is None:
        raise SandboxStartError(f"no python3 in the exported sandbox image at {root}")
    triplet = _loader_file(root).parent.name
    dirs = ["usr/local/lib", f"usr/lib/{triplet}", f"lib/{triplet}", "usr/lib"]
    return Runtime(root, python, ":".join(f"{RUNTIME_PATH}/{d}" for d in dirs))
