"""The polyglot image: the default root filesystem plus six toolchains, built offline.

Debian's packages (pytest, Node.js, Go, Rust with cargo, g++ with CMake, a JDK with JUnit 5's
console launcher and AssertJ) are installed into a copy of the default root filesystem with
apt in a chroot; jest and the Babel preset come from the npm registry at build time (the
host's npm), into /opt/jest. Nothing is fetched when grading. The result is imported like
the default image, with its own version label, as `dgm-sandbox-polyglot:latest`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from dgm.sandbox.image_build import (
    PRUNE,
    BuildError,
    BuildReport,
    build_lock,
    build_rootfs,
    finish_rootfs,
    image_current,
    image_version,
    import_rootfs,
    rootfs_stamp,
)
from dgm.sandbox.layout import POLYGLOT_IMAGE, cache_dir

PACKAGES = (
    "python3-pytest", "nodejs", "golang-go", "cargo", "rustc", "g++", "make", "cmake",
    "default-jdk-headless", "junit5", "libassertj-core-java",
)
NPM_PACKAGES = ("jest@29", "@babel/core@7", "@babel/preset-env@7")
RECIPE = f"1:{' '.join(PACKAGES)}:{' '.join(NPM_PACKAGES)}"
"""Bump the leading number when the steps below change."""
APT = ["apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false", "-o", "APT::Install-Recommends=false"]


def polyglot_rootfs_dir() -> Path:
    return cache_dir() / "rootfs-polyglot"


def polyglot_version() -> str:
    """The image's version label: changes with the recipe, the default image's recipe or the runner."""
    return hashlib.sha256(f"{image_version()}|{RECIPE}".encode()).hexdigest()[:16]


def polyglot_rootfs_stamp() -> str:
    """The root filesystem's: a new runner is copied in at import, so only the recipes count
    (a runner change re-imports in seconds instead of reinstalling the toolchains)."""
    return hashlib.sha256(f"{rootfs_stamp()}|{RECIPE}".encode()).hexdigest()[:16]


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:] or ["no output"]
        raise BuildError(f"{what} failed: {' | '.join(tail)}")


def install_toolchains(root: Path) -> None:
    """apt-get install PACKAGES in a chroot of `root` (with /proc mounted), then jest.

    Raises: BuildError.
    """
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    _run(["mount", "-t", "proc", "proc", str(root / "proc")], "mounting /proc in the chroot")
    try:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
        _run(["chroot", str(root), *APT, "update"], "apt-get update (chroot)", env)
        _run(["chroot", str(root), *APT, "install", "-y", *PACKAGES], "apt-get install (chroot)", env)
        _run(["chroot", str(root), "apt-get", "clean"], "apt-get clean (chroot)", env)
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], capture_output=True)
    (root / "etc/resolv.conf").unlink()
    if shutil.which("npm") is None:
        raise BuildError("npm is missing on the host (jest is installed with it): apt-get install npm")
    jest = root / "opt/jest"
    jest.mkdir(parents=True, exist_ok=True)
    _run(["npm", "install", "--prefix", str(jest), "--no-audit", "--no-fund", "--no-package-lock", *NPM_PACKAGES],
         "npm install jest")
    for name in ("usr/share/java/junit-platform-console-standalone.jar", "usr/share/java/assertj-core.jar",
                 "usr/bin/go", "usr/bin/cargo", "usr/bin/node", "usr/bin/cmake", "usr/bin/javac"):
        if not (root / name).exists():
            raise BuildError(f"the polyglot root filesystem lacks /{name} after the install")


def prune(root: Path) -> None:
    for rel in PRUNE:
        for child in (root / rel).glob("*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def build_polyglot_rootfs(force: bool = False) -> BuildReport:
    """Copy the default root filesystem and add the toolchains (a few minutes; skipped when
    current).

    Raises: BuildError.
    """
    build_rootfs()
    root = polyglot_rootfs_dir()
    stamp = root / ".dgm-rootfs"
    with build_lock():
        if not force and stamp.is_file() and stamp.read_text().strip() == polyglot_rootfs_stamp():
            finish_rootfs(root)
            return BuildReport("rootfs", "up to date", str(root))
        if os.geteuid() != 0:
            raise BuildError("the polyglot build needs root (chroot, apt): run 'sudo dgm sandbox build --image polyglot'")
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _run(["cp", "-a", str(cache_dir() / "rootfs"), str(tmp)], "copying the default root filesystem")
        install_toolchains(tmp)
        prune(tmp)
        finish_rootfs(tmp)
        (tmp / ".dgm-rootfs").write_text(polyglot_rootfs_stamp() + "\n")
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return BuildReport("rootfs", "built", str(root))


def build_polyglot_image(force: bool = False) -> BuildReport:
    """Build (or find current) the polyglot Docker image, offline from Debian and npm.

    Raises: BuildError (and SandboxError when no daemon answers).
    """
    from dgm.sandbox.docker_backend import connect

    client = connect()
    if not force and image_current(client, POLYGLOT_IMAGE, polyglot_version()):
        return BuildReport("image", "up to date", POLYGLOT_IMAGE)
    started = time.monotonic()
    build_polyglot_rootfs(force=force)
    import_rootfs(client, POLYGLOT_IMAGE, root=polyglot_rootfs_dir(), version=polyglot_version())
    size = client.images.get(POLYGLOT_IMAGE).attrs.get("Size", 0)
    return BuildReport("image", "built", f"{POLYGLOT_IMAGE} in {time.monotonic() - started:.0f} s, {size / 1e6:.0f} MB")
